//! A minimal RESP2 client over plain TCP: enough to tell whether a Redis is ready and to ask
//! a cluster or a Sentinel about its state (PING, AUTH, INFO, CLUSTER, SENTINEL).

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpStream,
    time::Duration,
};

use crate::net::loopback;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (simple strings and bulk strings), `None` for other shapes.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to 127.0.0.1:`port`; authenticates when `password` is given.
    pub fn open(port: u16, password: Option<&str>, timeout: Duration) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&loopback(port), timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut conn = Self {
            reader: BufReader::new(stream),
        };
        if let Some(password) = password {
            match conn.command(&["AUTH", password])? {
                Reply::Simple(ok) if ok == "OK" => {}
                other => return Err(std::io::Error::other(format!("AUTH: {other:?}"))),
            }
        }
        Ok(conn)
    }

    pub fn command(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&request)?;
        read_reply(&mut self.reader)
    }

    /// A command whose reply is text (INFO, CLUSTER NODES, ...); a Redis error is an error.
    pub fn text(&mut self, args: &[&str]) -> std::io::Result<String> {
        match self.command(args)? {
            Reply::Error(e) => Err(std::io::Error::other(format!("{}: {e}", args.join(" ")))),
            reply => reply
                .text()
                .ok_or_else(|| std::io::Error::other(format!("{}: {reply:?}", args.join(" ")))),
        }
    }
}

/// `field:value` lines of INFO-style text (INFO, CLUSTER INFO).
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.trim_end().strip_prefix(field)?.strip_prefix(':'))
        .map(str::to_owned)
}

fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Reply> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).unwrap_or(("", ""));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| std::io::Error::other(format!("bad RESP length {line:?}")))
    };
    Ok(match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(number()?),
        "$" => match number()? {
            n if n < 0 => Reply::Bulk(None),
            n => {
                let mut data = vec![0; n as usize + 2];
                reader.read_exact(&mut data)?;
                data.truncate(n as usize);
                Reply::Bulk(Some(data))
            }
        },
        "*" => match number()? {
            n if n < 0 => Reply::Array(None),
            n => Reply::Array(Some(
                (0..n)
                    .map(|_| read_reply(reader))
                    .collect::<std::io::Result<_>>()?,
            )),
        },
        _ => return Err(std::io::Error::other(format!("not RESP: {line:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Reply {
        read_reply(&mut BufReader::new(bytes)).unwrap()
    }

    #[test]
    fn every_resp2_shape_is_read() {
        assert_eq!(parse(b"+PONG\r\n"), Reply::Simple("PONG".into()));
        assert_eq!(
            parse(b"-LOADING Redis is loading\r\n"),
            Reply::Error("LOADING Redis is loading".into())
        );
        assert_eq!(parse(b":42\r\n"), Reply::Integer(42));
        assert_eq!(parse(b"$-1\r\n"), Reply::Bulk(None));
        assert_eq!(parse(b"$5\r\na\r\nbc\r\n").text().unwrap(), "a\r\nbc");
        assert_eq!(
            parse(b"*2\r\n$1\r\nx\r\n*1\r\n:1\r\n"),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"x".to_vec())),
                Reply::Array(Some(vec![Reply::Integer(1)])),
            ]))
        );
    }

    #[test]
    fn info_fields_are_found_by_name() {
        let info = "# Cluster\r\ncluster_state:ok\r\ncluster_slots_ok:16384\r\n";

        assert_eq!(info_field(info, "cluster_state").as_deref(), Some("ok"));
        assert_eq!(
            info_field(info, "cluster_slots_ok").as_deref(),
            Some("16384")
        );
        assert_eq!(info_field(info, "cluster_slots"), None);
    }
}
