//! `localstack`: the scripts' way to start local processes (the tests use the library).
//! `localstack help` describes the commands.

use std::{
    io::Read,
    path::PathBuf,
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::Duration,
};

use localstack::{GroupSpec, NamedContainer, RedisKind, Stack, StackSpec, free_ports, images};

const HELP: &str = "\
localstack: start the project's local processes, for scripts.

localstack up [options]
    Starts a Redis and service instances wired to it, writes a sourceable environment file
    once everything is ready, then stays in the foreground until SIGTERM/SIGINT, the end of
    standard input (when it is a pipe or a terminal) or the end of --watch-pid; then stops
    the instances (SIGTERM, drain), then Redis, removes its directory (unless --keep-logs)
    and the environment file. Exits non-zero if anything fails to start or dies early.

    --redis KIND        single (default): a redis-server process
                        tls | aof: a process with TLS / append-only persistence
                        container: a container of the project's Redis image
                        cluster:MxR: M primaries with R replicas each, e.g. cluster:3x0
                        sentinel:R: a primary, R replicas and three Sentinels
                        none: no Redis (give the instances REDIS_URL with --env)
    --password PW       requirepass (single, container, sentinel)
    --tls, --aof        as above, combinable with single and container
    --image IMAGE       image for --redis container (default: $TRICKSTER_IMAGE_PREFIX + redis:7.0)
    --service-bin PATH  the service binary (required for instances)
    --instances N       instances (default 1 with --service-bin, else 0)
    --env KEY=VALUE     environment of every instance (repeatable)
    --group NAME        a named group of instances: the --instances and --env after it
                        apply to it only (repeatable; without --group there is one group,
                        \"service\")
    --env-file PATH     where to write the environment file (required)
    --keep-logs         keep the working directory (logs, configs, data)
    --ready-timeout S   bound on each readiness wait (default 60)
    --watch-pid PID     stop when that process has ended (scripts pass $$)

    The environment file sets LOCALSTACK_PID, LOCALSTACK_DIR; REDIS_URL (single) or
    REDIS_CLUSTER_URLS (cluster) or REDIS_SENTINEL_URLS and REDIS_SENTINEL_MASTER (sentinel),
    REDIS_TLS_CA_FILE (tls), REDIS_PORT, REDIS_PORTS, REDIS_PID(S), REDIS_CONTAINER, REDIS_LOG;
    BASE_URL (first instance), INSTANCE_URLS (comma-separated), SERVICE_PORTS, SERVICE_PIDS,
    SERVICE_LOGS (space-separated), and per group <NAME>_BASE_URL, <NAME>_INSTANCE_URLS,
    <NAME>_PORTS, <NAME>_PIDS, <NAME>_LOGS.

localstack free-port [COUNT]
    Prints COUNT (default 1) distinct free loopback ports, one per line.

localstack redis-container --name NAME [--volume VOLUME] [--aof] [--image IMAGE]
    Makes sure the long-lived named Redis container runs (created from the image, or
    reused; a container of another image is replaced) and prints its URL.

Instances get a clean environment: PATH, HOME (their directory), HOST=127.0.0.1, PORT (a free
port), the Redis settings, then the --env values. Working directories go under $TMPDIR.
";

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]),
        Some("free-port") => free_port(&args[1..]),
        Some("redis-container") => redis_container(&args[1..]),
        Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("usage: see `localstack help`; got {args:?}")),
    };
    result.unwrap_or_else(|e| {
        eprintln!("localstack: {e}");
        ExitCode::FAILURE
    })
}

struct UpOptions {
    spec: StackSpec,
    env_file: PathBuf,
    watch_pid: Option<libc::pid_t>,
}

fn parse_up(args: &[String]) -> Result<UpOptions, String> {
    let mut spec = StackSpec {
        redis: RedisKind::Process,
        password: None,
        tls: false,
        append_only: false,
        service_bin: None,
        env: Vec::new(),
        groups: Vec::new(),
        keep_logs: false,
        ready_timeout: Duration::from_secs(60),
    };
    let mut image = None;
    let mut env_file = None;
    let mut watch_pid = None;
    let mut default_instances: Option<usize> = None;
    let mut args = args.iter();
    let value = |args: &mut std::slice::Iter<String>, flag: &str| {
        args.next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--redis" => {
                let kind = value(&mut args, arg)?;
                spec.redis = match kind.as_str() {
                    "single" => RedisKind::Process,
                    "tls" => {
                        spec.tls = true;
                        RedisKind::Process
                    }
                    "aof" => {
                        spec.append_only = true;
                        RedisKind::Process
                    }
                    "container" => RedisKind::Container {
                        image: String::new(),
                    },
                    "none" => RedisKind::None,
                    other => parse_topology(other)?,
                };
            }
            "--password" => spec.password = Some(value(&mut args, arg)?),
            "--tls" => spec.tls = true,
            "--aof" => spec.append_only = true,
            "--image" => image = Some(value(&mut args, arg)?),
            "--service-bin" => spec.service_bin = Some(PathBuf::from(value(&mut args, arg)?)),
            "--instances" => {
                let count = value(&mut args, arg)?
                    .parse()
                    .map_err(|_| "--instances needs a whole number".to_owned())?;
                match spec.groups.last_mut() {
                    Some(group) => group.instances = count,
                    None => default_instances = Some(count),
                }
            }
            "--env" => {
                let pair = value(&mut args, arg)?;
                let (key, val) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--env needs KEY=VALUE, got {pair:?}"))?;
                let entry = (key.to_owned(), val.to_owned());
                match spec.groups.last_mut() {
                    Some(group) => group.env.push(entry),
                    None => spec.env.push(entry),
                }
            }
            "--group" => spec.groups.push(GroupSpec {
                name: value(&mut args, arg)?,
                instances: 1,
                env: Vec::new(),
            }),
            "--env-file" => env_file = Some(PathBuf::from(value(&mut args, arg)?)),
            "--keep-logs" => spec.keep_logs = true,
            "--ready-timeout" => {
                let seconds: u64 = value(&mut args, arg)?
                    .parse()
                    .map_err(|_| "--ready-timeout needs whole seconds".to_owned())?;
                spec.ready_timeout = Duration::from_secs(seconds);
            }
            "--watch-pid" => {
                watch_pid = Some(
                    value(&mut args, arg)?
                        .parse()
                        .map_err(|_| "--watch-pid needs a process id".to_owned())?,
                );
            }
            other => return Err(format!("unknown option {other:?} (see `localstack help`)")),
        }
    }
    if let RedisKind::Container { image: chosen } = &mut spec.redis {
        *chosen = image.unwrap_or_else(images::redis);
    } else if image.is_some() {
        return Err("--image applies to --redis container".to_owned());
    }
    if spec.groups.is_empty() {
        let instances = default_instances.unwrap_or(usize::from(spec.service_bin.is_some()));
        spec.groups.push(GroupSpec {
            name: "service".to_owned(),
            instances,
            env: Vec::new(),
        });
    } else if default_instances.is_some() {
        return Err("with --group, give --instances after each --group".to_owned());
    }
    let env_file = env_file.ok_or("--env-file <path> is required")?;
    Ok(UpOptions {
        spec,
        env_file,
        watch_pid,
    })
}

/// `cluster:3x1` → 3 primaries, 1 replica each; `sentinel:2` → 2 replicas.
fn parse_topology(kind: &str) -> Result<RedisKind, String> {
    let bad = || {
        format!(
            "--redis {kind:?}: expected single, tls, aof, container, none, cluster:MxR or sentinel:R"
        )
    };
    if let Some(shape) = kind.strip_prefix("cluster:") {
        let (primaries, replicas) = shape.split_once('x').ok_or_else(bad)?;
        return Ok(RedisKind::Cluster {
            primaries: primaries.parse().map_err(|_| bad())?,
            replicas: replicas.parse().map_err(|_| bad())?,
        });
    }
    if let Some(replicas) = kind.strip_prefix("sentinel:") {
        return Ok(RedisKind::Sentinel {
            replicas: replicas.parse().map_err(|_| bad())?,
        });
    }
    Err(bad())
}

fn up(args: &[String]) -> Result<ExitCode, String> {
    let options = parse_up(args)?;
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(
                signal,
                request_stop as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
    watch_stdin();
    // Everything is started from this (main) thread, which lives until the stack is stopped.
    localstack::end_children_with_their_starter();

    let mut stack = Stack::start(&options.spec).map_err(|e| e.to_string())?;
    stack
        .write_env_file(&options.env_file)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "localstack: ready; environment in {} (stop with SIGTERM or Ctrl-C)",
        options.env_file.display()
    );

    let mut code = ExitCode::SUCCESS;
    while !STOP.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(200));
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        if let Some(pid) = options.watch_pid
            && !alive(pid)
        {
            eprintln!("localstack: process {pid} has ended; stopping");
            break;
        }
        if let Err(e) = stack.check() {
            eprintln!("localstack: {e}");
            code = ExitCode::FAILURE;
            break;
        }
    }
    let _ = std::fs::remove_file(&options.env_file);
    if options.spec.keep_logs {
        eprintln!("localstack: logs kept in {}", stack.dir().display());
    }
    stack.stop();
    Ok(code)
}

/// Stops the stack when standard input ends, if it is a pipe or a terminal (from /dev/null,
/// as for a background job of a script, it would end at once).
fn watch_stdin() {
    use std::{io::IsTerminal, os::unix::fs::FileTypeExt};
    let stdin = std::io::stdin();
    let pipe = std::fs::metadata("/dev/stdin").is_ok_and(|m| m.file_type().is_fifo());
    if pipe || stdin.is_terminal() {
        thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = stdin;
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            STOP.store(true, Ordering::SeqCst);
        });
    }
}

fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn free_port(args: &[String]) -> Result<ExitCode, String> {
    let count = match args {
        [] => 1,
        [n] => n.parse().map_err(|_| format!("not a count: {n:?}"))?,
        _ => return Err("usage: localstack free-port [COUNT]".to_owned()),
    };
    for port in free_ports(count).map_err(|e| e.to_string())? {
        println!("{port}");
    }
    Ok(ExitCode::SUCCESS)
}

fn redis_container(args: &[String]) -> Result<ExitCode, String> {
    let mut name = None;
    let mut container = NamedContainer::new("", &images::redis());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--name" => name = Some(value()?),
            "--volume" => container.volume = Some(value()?),
            "--image" => container.image = value()?,
            "--aof" => container.append_only = true,
            other => return Err(format!("unknown option {other:?} (see `localstack help`)")),
        }
    }
    container.name = name.ok_or("--name is required")?;
    let port = container.ensure().map_err(|e| e.to_string())?;
    println!("redis://127.0.0.1:{port}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn without_groups_one_service_group_takes_the_instances() {
        let options = parse_up(&args(
            "--redis cluster:3x1 --service-bin bin --instances 2 --env A=1 --env-file e",
        ))
        .unwrap();

        assert_eq!(
            options.spec.redis,
            RedisKind::Cluster {
                primaries: 3,
                replicas: 1
            }
        );
        assert_eq!(options.spec.groups.len(), 1);
        assert_eq!(options.spec.groups[0].instances, 2);
        assert_eq!(options.spec.env, vec![("A".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn options_after_a_group_belong_to_it() {
        let options = parse_up(&args(
            "--service-bin bin --env ALL=1 --group main --env M=1 --group limited --instances 2 \
             --env L=2 --env-file e",
        ))
        .unwrap();

        let groups = &options.spec.groups;
        assert_eq!(options.spec.env, vec![("ALL".to_owned(), "1".to_owned())]);
        assert_eq!((groups[0].name.as_str(), groups[0].instances), ("main", 1));
        assert_eq!(groups[0].env, vec![("M".to_owned(), "1".to_owned())]);
        assert_eq!(
            (groups[1].name.as_str(), groups[1].instances),
            ("limited", 2)
        );
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (line, reason) in [
            ("--redis cluster:3 --env-file e", "cluster:MxR"),
            ("--env NOEQUALS --env-file e", "KEY=VALUE"),
            ("--redis single", "--env-file"),
            (
                "--group a --env-file e --instances 1 --group b --bogus",
                "--bogus",
            ),
        ] {
            let error = parse_up(&args(line)).err().unwrap_or_default();
            assert!(error.contains(reason), "{line}: {error}");
        }
    }
}
