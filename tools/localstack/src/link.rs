//! A slow network link on loopback: a TCP proxy that delivers what one side sends `delay`
//! late and the other side's replies at once, and that can be cut, losing whatever it still
//! holds. Between a primary and its replica it stands for a replication link that lags, and
//! cutting it with the primary stands for a primary whose host dies with bytes in flight —
//! what loopback alone never shows, since the kernel still delivers what a killed process
//! had written.

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    Result,
    net::{free_port, loopback},
};

/// A running link from its own port to `127.0.0.1:<target>`.
pub struct DelayedLink {
    port: u16,
    cut: Arc<AtomicBool>,
    /// Every socket the link holds, so cutting it closes them all.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl DelayedLink {
    /// Listens on a free loopback port; each connection accepted is forwarded to `target`,
    /// data from the connecting side at once, data from `target` after `delay`.
    pub fn start(target: u16, delay: Duration) -> Result<Self> {
        let port = free_port()?;
        let listener = TcpListener::bind(loopback(port))?;
        listener.set_nonblocking(true)?;
        let cut = Arc::new(AtomicBool::new(false));
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (cut_flag, held) = (cut.clone(), sockets.clone());
        thread::spawn(move || {
            while !cut_flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if let Err(e) = forward(client, target, delay, &cut_flag, &held) {
                            eprintln!("localstack: delayed link to {target}: {e}");
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Ok(Self { port, cut, sockets })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection at once; data not yet delivered is lost.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for socket in self.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for DelayedLink {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Relays one connection: `client` to `target` directly, `target` to `client` through a
/// queue that releases each chunk `delay` after it arrived.
fn forward(
    client: TcpStream,
    target: u16,
    delay: Duration,
    cut: &Arc<AtomicBool>,
    held: &Arc<Mutex<Vec<TcpStream>>>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(loopback(target))?;
    server.set_nodelay(true)?;
    client.set_nodelay(true)?;
    {
        let mut held = held.lock().unwrap();
        held.push(client.try_clone()?);
        held.push(server.try_clone()?);
    }
    // Client to server, as it comes.
    let (mut from, mut to) = (client.try_clone()?, server.try_clone()?);
    thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    // Server to client, `delay` late.
    let (queue, delayed) = mpsc::channel::<(Instant, Vec<u8>)>();
    let mut from = server;
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if queue
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    let (mut to, cut) = (client, cut.clone());
    thread::spawn(move || {
        for (due, chunk) in delayed {
            thread::sleep(due.saturating_duration_since(Instant::now()));
            if cut.load(Ordering::SeqCst) || to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
    Ok(())
}
