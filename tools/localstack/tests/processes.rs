//! The tool against real processes: redis-server, redis-cli and openssl must be on PATH
//! (Debian: apt-get install redis-tools openssl; `.ci/run` installs them). Containers are
//! covered by the service's integration tests, which start every Redis they use through
//! this crate.

use std::{
    io::ErrorKind,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use localstack::{
    ClusterSpec, Redis, RedisCluster, RedisSpec, SentinelGroup, SentinelSpec, Service, ServiceSpec,
    resp::{Connection, Reply},
};

fn connect(redis: &Redis, password: Option<&str>) -> std::io::Result<Connection> {
    Connection::open(redis.port(), password, Duration::from_millis(500))
}

fn ping(redis: &Redis) -> std::io::Result<Reply> {
    connect(redis, None)?.command(&["PING"])
}

/// Polls `done` every 50 ms for at most `limit`; whether it came true.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Waits at most `limit` for `child` to end by itself (killing it after that): how it ended
/// by itself, if it did.
fn ended_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    wait_until(limit, || child.try_wait().unwrap().is_some());
    let ended = child.try_wait().unwrap();
    if ended.is_none() {
        let _ = child.kill();
    }
    child.wait().unwrap();
    ended
}

/// A variable of the environment file `up` writes, read the way scripts read it (sourced).
fn env_var(env_file: &Path, name: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            ". '{}' && printf %s \"${name}\"",
            env_file.display()
        ))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_append_only_redis_keeps_its_data_and_port_across_a_kill_and_a_restart() {
    let mut redis = Redis::start_process(&RedisSpec::new().append_only()).unwrap();
    let port = redis.port();
    let mut conn = connect(&redis, None).unwrap();
    assert_eq!(
        conn.command(&["SET", "k", "v"]).unwrap(),
        Reply::Simple("OK".into())
    );

    redis.kill();
    let refused = ping(&redis);
    redis.restart().unwrap();

    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    assert_eq!(redis.port(), port);
    let value = connect(&redis, None).unwrap().text(&["GET", "k"]).unwrap();
    assert_eq!(value, "v");
}

#[test]
fn a_stopped_redis_refuses_connections_and_a_paused_one_answers_nothing() {
    let mut redis = Redis::start_process(&RedisSpec::new()).unwrap();
    let mut conn = connect(&redis, None).unwrap();

    redis.pause().unwrap();
    let frozen = conn.command(&["PING"]);
    redis.resume().unwrap();
    let thawed = connect(&redis, None).unwrap().command(&["PING"]);
    redis.stop().unwrap();
    let stopped = ping(&redis);

    let frozen = frozen.unwrap_err().kind();
    assert!(
        matches!(frozen, ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{frozen:?}"
    );
    assert_eq!(thawed.unwrap(), Reply::Simple("PONG".into()));
    assert_eq!(stopped.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    assert!(!redis.is_running());
}

#[test]
fn a_password_is_required_and_carried_in_the_url() {
    let redis = Redis::start_process(&RedisSpec::new().password("s3cret")).unwrap();

    let anonymous = connect(&redis, None).unwrap().command(&["PING"]).unwrap();
    let authenticated = connect(&redis, Some("s3cret")).unwrap().command(&["PING"]);

    assert!(matches!(anonymous, Reply::Error(e) if e.starts_with("NOAUTH")));
    assert_eq!(authenticated.unwrap(), Reply::Simple("PONG".into()));
    assert_eq!(
        redis.url(),
        format!("redis://:s3cret@127.0.0.1:{}", redis.port())
    );
}

#[test]
fn a_tls_redis_is_verified_against_the_generated_ca() {
    let redis = Redis::start_process(&RedisSpec::new().tls()).unwrap();
    let ca = redis.ca_file().unwrap().to_path_buf();

    let verified = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&ca)
        .args(["-h", "127.0.0.1", "-p", &redis.port().to_string(), "PING"])
        .output()
        .unwrap();
    let plain = ping(&redis);

    assert_eq!(String::from_utf8_lossy(&verified.stdout).trim(), "PONG");
    assert!(redis.url().starts_with("rediss://127.0.0.1:"));
    assert!(plain.is_err(), "the plain port is closed: {plain:?}");
}

#[test]
fn the_working_directory_goes_with_the_handle_unless_logs_are_kept() {
    let removed = Redis::start_process(&RedisSpec::new()).unwrap();
    let removed_dir = removed.dir().to_path_buf();
    let kept = Redis::start_process(&RedisSpec::new().keep_logs(true)).unwrap();
    let kept_dir = kept.dir().to_path_buf();

    drop(removed);
    drop(kept);

    assert!(!removed_dir.exists());
    assert!(kept_dir.join("redis.log").is_file());
    std::fs::remove_dir_all(kept_dir).unwrap();
}

#[test]
fn a_cluster_with_replicas_fails_over_when_a_primary_is_killed() {
    let mut cluster = RedisCluster::start(&ClusterSpec::new(3, 1)).unwrap();
    assert_eq!(cluster.urls().len(), 6);
    assert_eq!(cluster.primaries().unwrap().len(), 3);

    let killed = cluster.kill_primary(0).unwrap();
    cluster.wait_for_failover(killed).unwrap();

    let primaries = cluster.primaries().unwrap();
    assert_eq!(primaries.len(), 3, "a replica took over");
    assert!(!primaries.contains(&killed));
}

#[test]
fn a_cluster_without_replicas_reports_that_no_failover_came() {
    let mut spec = ClusterSpec::new(3, 0);
    spec.ready_timeout = Duration::from_secs(8);
    let mut cluster = RedisCluster::start(&spec).unwrap();

    let killed = cluster.kill_primary(2).unwrap();
    let waited = cluster.wait_for_failover(killed);

    assert!(waited.unwrap_err().to_string().contains("no failover"));
}

#[test]
fn sentinels_promote_the_replica_when_the_primary_is_killed() {
    let mut group = SentinelGroup::start(&SentinelSpec::new(1)).unwrap();
    let old = group.primary_port().unwrap();
    assert_eq!(old, group.servers()[0].port());
    assert_eq!(group.sentinel_urls().len(), 3);

    group.kill_primary().unwrap();
    let new = group.wait_for_failover(old).unwrap();

    assert_eq!(new, group.servers()[1].port());
}

#[test]
fn a_killed_primary_rejoins_as_a_replica_of_the_one_that_replaced_it() {
    let mut spec = SentinelSpec::new(1);
    spec.password = Some("s3cret".into());
    let mut group = SentinelGroup::start(&spec).unwrap();
    let old = group.primary_port().unwrap();
    assert!(
        group.sentinel_urls()[0].contains(":s3cret@"),
        "the Sentinels take the password too: {:?}",
        group.sentinel_urls()
    );

    let killed = group.kill_primary().unwrap();
    let new = group.wait_for_failover(old).unwrap();
    group.rejoin(killed).unwrap();

    assert_eq!(
        group.primary_port().unwrap(),
        new,
        "the Sentinels keep the new primary"
    );
}

#[test]
fn a_write_in_flight_on_a_delayed_link_is_lost_with_the_primary() {
    let mut spec = SentinelSpec::new(1);
    spec.replication_delay = Some(Duration::from_millis(500));
    let mut group = SentinelGroup::start(&spec).unwrap();
    let old = group.primary_port().unwrap();
    let mut primary = connect(&group.servers()[0], None).unwrap();
    let mut replica = connect(&group.servers()[1], None).unwrap();

    primary.command(&["SET", "early", "1"]).unwrap();
    std::thread::sleep(Duration::from_millis(1_000));
    primary.command(&["SET", "late", "1"]).unwrap();
    let late_on_replica_at_once = replica.command(&["EXISTS", "late"]).unwrap();
    group.kill_primary().unwrap();
    group.wait_for_failover(old).unwrap();
    let mut promoted = connect(&group.servers()[1], None).unwrap();

    assert_eq!(late_on_replica_at_once, Reply::Integer(0), "the link lags");
    assert_eq!(
        promoted.command(&["EXISTS", "early"]).unwrap(),
        Reply::Integer(1)
    );
    assert_eq!(
        promoted.command(&["EXISTS", "late"]).unwrap(),
        Reply::Integer(0),
        "what the cut link held is lost"
    );
}

#[test]
fn a_killed_cluster_primary_rejoins_as_a_replica() {
    let mut cluster = RedisCluster::start(&ClusterSpec::new(3, 1)).unwrap();
    let killed = cluster.kill_primary(1).unwrap();
    cluster.wait_for_failover(killed).unwrap();

    cluster.rejoin(killed).unwrap();

    let primaries = cluster.primaries().unwrap();
    assert_eq!(primaries.len(), 3);
    assert!(!primaries.contains(&killed), "it came back as a replica");
}

/// A stand-in service: answers `GET /ready` with 200 and records its environment.
fn fake_service(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("fake-service");
    std::fs::write(
        &script,
        "#!/bin/sh\nenv | sort > \"$HOME/env.txt\"\nmkdir -p \"$HOME/www\" && touch \"$HOME/www/ready\"\n\
         cd \"$HOME/www\" && exec python3 -m http.server --bind 127.0.0.1 \"$PORT\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_service_gets_a_clean_environment_a_free_port_and_is_ready_on_200() {
    let tmp = localstack::workdir::WorkDir::create(None, "fake-service-bin", false).unwrap();
    let spec = ServiceSpec::new(fake_service(tmp.path())).env("GREETING", "hello world");

    let mut service = Service::start(&spec).unwrap();
    let env = std::fs::read_to_string(service.dir().join("env.txt")).unwrap();
    let status =
        localstack::net::http_status(service.port(), "/ready", Duration::from_secs(2)).unwrap();
    let exit = service.stop();

    assert_eq!(status, 200);
    assert!(env.contains("GREETING=hello world"), "{env}");
    assert!(env.contains(&format!("PORT={}", service.port())), "{env}");
    assert!(env.contains("HOST=127.0.0.1"), "{env}");
    assert!(!env.contains("CARGO"), "nothing inherited: {env}");
    assert!(!exit.success(), "ended by SIGTERM: {exit:?}");
}

#[test]
fn up_writes_the_environment_file_when_ready_and_stops_everything_on_sigterm() {
    let tmp = localstack::workdir::WorkDir::create(None, "cli-test", false).unwrap();
    let env_file = tmp.path().join("stack.env");
    let mut up = Command::new(env!("CARGO_BIN_EXE_localstack"))
        .args(["up", "--redis", "aof", "--instances", "2", "--service-bin"])
        .arg(fake_service(tmp.path()))
        .arg("--env-file")
        .arg(&env_file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), || env_file.exists());
    let text = std::fs::read_to_string(&env_file).unwrap();
    let var = |name: &str| env_var(&env_file, name);
    let redis_port: u16 = var("REDIS_PORT").parse().unwrap();
    let dir = var("LOCALSTACK_DIR");
    let instances = var("INSTANCE_URLS");
    let redis_url = var("REDIS_URL");
    let base_url = var("BASE_URL");
    let service_pids = var("SERVICE_PIDS");
    let pong = Connection::open(redis_port, None, Duration::from_secs(1))
        .unwrap()
        .command(&["PING"])
        .unwrap();

    // SAFETY: kill(2) on our own, unreaped child.
    unsafe { libc::kill(up.id() as libc::pid_t, libc::SIGTERM) };
    let status = up.wait().unwrap();

    assert_eq!(pong, Reply::Simple("PONG".into()), "{text}");
    assert_eq!(redis_url, format!("redis://127.0.0.1:{redis_port}"));
    assert_eq!(instances.split(',').count(), 2, "{text}");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{text}");
    assert_eq!(service_pids.split(' ').count(), 2, "{text}");
    assert!(status.success(), "{status:?}");
    assert!(!env_file.exists(), "the file goes with the stack");
    assert!(!Path::new(&dir).exists(), "{dir} removed");
    assert!(Connection::open(redis_port, None, Duration::from_millis(300)).is_err());
}

#[test]
fn up_stops_when_the_watched_process_ends() {
    let tmp = localstack::workdir::WorkDir::create(None, "cli-test", false).unwrap();
    let env_file = tmp.path().join("stack.env");
    let mut parent = Command::new("sleep").arg("2").spawn().unwrap();
    let mut up = Command::new(env!("CARGO_BIN_EXE_localstack"))
        .args(["up", "--watch-pid", &parent.id().to_string(), "--env-file"])
        .arg(&env_file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();

    parent.wait().unwrap();
    let ended = ended_within(&mut up, Duration::from_secs(20));

    assert!(
        ended.is_some_and(|s| s.success()),
        "up ended by itself: {ended:?}"
    );
    assert!(!env_file.exists());
}

#[test]
fn a_killed_up_leaves_no_redis_running() {
    let tmp = localstack::workdir::WorkDir::create(None, "cli-test", false).unwrap();
    let env_file = tmp.path().join("stack.env");
    let mut up = Command::new(env!("CARGO_BIN_EXE_localstack"))
        .args(["up", "--env-file"])
        .arg(&env_file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(30), || env_file.exists());
    let pid = env_var(&env_file, "REDIS_PID");
    let dir = env_var(&env_file, "LOCALSTACK_DIR");

    up.kill().unwrap();
    up.wait().unwrap();
    // Running means a state other than zombie (Z) in /proc/<pid>/stat, or no entry at all.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    };
    wait_until(Duration::from_secs(10), || !running());

    assert!(!running(), "redis-server {pid} outlived its starter");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn up_stops_when_its_standard_input_closes() {
    let tmp = localstack::workdir::WorkDir::create(None, "cli-test", false).unwrap();
    let env_file = tmp.path().join("stack.env");
    let mut up = Command::new(env!("CARGO_BIN_EXE_localstack"))
        .args(["up", "--env-file"])
        .arg(&env_file)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let was_ready = wait_until(Duration::from_secs(30), || env_file.exists());

    drop(up.stdin.take());
    let ended = ended_within(&mut up, Duration::from_secs(20));

    assert!(was_ready);
    assert!(ended.is_some_and(|s| s.success()), "{ended:?}");
    assert!(!env_file.exists());
}
