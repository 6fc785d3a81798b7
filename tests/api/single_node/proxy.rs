//! A loopback proxy in front of Redis that can lose replies and slow Redis down: the faults
//! a network causes and the service must survive (a command that ran but whose reply never
//! arrived; a Redis that answers every call, just slowly).
//!
//! It reads the client's commands and Redis's replies as RESP values, so it knows which
//! reply belongs to which command. Losing a reply means: let the command run, read its
//! reply from Redis, then close the client's connection instead of delivering it (a reply
//! cannot be skipped on a pipelined connection without mixing up the ones after it).

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What to do with the replies of commands that contain a pattern.
#[derive(Default)]
struct Rules {
    /// Lose the reply of the next command containing this pattern.
    lose_next: Mutex<Option<Vec<u8>>>,
    /// Replies lost so far.
    lost: AtomicUsize,
    /// Delay before every reply, ms.
    delay_ms: AtomicU64,
    /// Every command seen, in order.
    seen: Mutex<Vec<Vec<u8>>>,
}

pub struct RedisProxy {
    pub url: String,
    rules: Arc<Rules>,
}

impl RedisProxy {
    /// A proxy to the Redis at `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let rules = Arc::new(Rules::default());
        let (upstream, shared) = (upstream.to_owned(), rules.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, shared.clone()));
            }
        });
        Self { url, rules }
    }

    /// The reply of the next command whose bytes contain `pattern` is lost.
    pub fn lose_next_reply_to(&self, pattern: &str) {
        *self.rules.lose_next.lock().unwrap() = Some(pattern.as_bytes().to_vec());
    }

    /// The commands seen since the last call, as text.
    pub fn take_commands(&self) -> Vec<String> {
        std::mem::take(&mut *self.rules.seen.lock().unwrap())
            .into_iter()
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .collect()
    }

    pub fn replies_lost(&self) -> usize {
        self.rules.lost.load(Ordering::SeqCst)
    }

    /// Every reply waits `delay` before it is delivered.
    pub fn slow_down(&self, delay: Duration) {
        self.rules
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

/// Length of the first complete RESP2 value in `buf`, if it is all there.
fn value_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&buf[1..line_end]).ok()?;
    let after = line_end + 2;
    match buf.first()? {
        b'+' | b'-' | b':' => Some(after),
        b'$' => {
            let len: i64 = header.parse().ok()?;
            if len < 0 {
                return Some(after);
            }
            let end = after + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' => {
            let count: i64 = header.parse().ok()?;
            let mut at = after;
            for _ in 0..count.max(0) {
                at += value_len(&buf[at..])?;
            }
            Some(at)
        }
        other => panic!("the proxy speaks RESP2 only, got {:?}", *other as char),
    }
}

/// Moves commands to Redis and replies back, applying the rules.
async fn relay(client: TcpStream, server: TcpStream, rules: Arc<Rules>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // For every command sent, in order: whether its reply is to be lost.
    let fates: Arc<Mutex<VecDeque<bool>>> = Arc::default();

    let commands = {
        let (fates, rules) = (fates.clone(), rules.clone());
        async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            loop {
                let n = client_read.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(len) = value_len(&buf) {
                    let command: Vec<u8> = buf.drain(..len).collect();
                    let lose = {
                        let mut pattern = rules.lose_next.lock().unwrap();
                        let hit = pattern
                            .as_ref()
                            .is_some_and(|p| command.windows(p.len()).any(|w| w == p));
                        if hit {
                            *pattern = None;
                        }
                        hit
                    };
                    fates.lock().unwrap().push_back(lose);
                    rules.seen.lock().unwrap().push(command.clone());
                    if server_write.write_all(&command).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let replies = async move {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(len) = value_len(&buf) {
                let reply: Vec<u8> = buf.drain(..len).collect();
                let lose = fates.lock().unwrap().pop_front().unwrap_or(false);
                if lose {
                    // The command ran; its caller will never know how it went.
                    rules.lost.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                let delay = rules.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if client_write.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
    };
    // Either side ending ends the connection (dropping both halves closes the sockets).
    tokio::select! {
        () = commands => {},
        () = replies => {},
    }
}

#[test]
fn resp_values_are_measured_only_when_complete() {
    assert_eq!(value_len(b"+OK\r\n"), Some(5));
    assert_eq!(value_len(b"$3\r\nabc\r\n+x"), Some(9));
    assert_eq!(value_len(b"$3\r\nab"), None);
    assert_eq!(value_len(b"*2\r\n:1\r\n$-1\r\n"), Some(13));
    assert_eq!(value_len(b"*2\r\n:1\r\n"), None);
}
