//! The Lua scripts in `lua/`, compiled into the binary and loaded into Redis on demand.
//!
//! Each script is one atomic operation. Its file starts with a header naming every `KEYS[i]`
//! and `ARGV[i]`; the declaration here names them again, in the same order, together with
//! the library parts (`lua/lib/`) the script needs (Lua scripts cannot include each other, so
//! those parts are prepended). A unit test reads every header and compares it with its
//! declaration, and [`Call`] refuses to run a script with another number of keys or
//! arguments than declared — so a header, its declaration and its callers cannot drift.
//!
//! redis-rs sends `EVALSHA` and, when Redis answers `NOSCRIPT` (after a restart or
//! `SCRIPT FLUSH`), loads the source and retries — so nothing has to be preloaded.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation, ToRedisArgs};

/// A library part: helpers several scripts share.
pub struct Lib {
    pub name: &'static str,
    source: &'static str,
}

macro_rules! lib {
    ($ident:ident = $file:literal) => {
        pub const $ident: Lib = Lib {
            name: $file,
            source: include_str!(concat!("../../lua/lib/", $file, ".lua")),
        };
    };
}

lib!(ARGS = "args");
lib!(CLOCK = "clock");
lib!(BUCKET = "bucket");
lib!(ACCOUNT = "account");
lib!(IDEMPOTENCY = "idempotency");

/// One script: its name (logs, metrics), the names of its keys and arguments in order, and
/// the program Redis runs (library parts + the script's own file).
pub struct ScriptSpec {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub args: &'static [&'static str],
    pub libs: &'static [Lib],
    /// The script's own file (its header is checked against `keys` and `args`).
    pub source: &'static str,
    script: LazyLock<Script>,
}

impl ScriptSpec {
    /// The SHA-1 Redis knows the script by (`EVALSHA`).
    pub fn sha(&self) -> &str {
        self.script.get_hash()
    }

    fn program(libs: &[Lib], source: &str) -> Script {
        let mut program: Vec<&str> = libs.iter().map(|lib| lib.source).collect();
        program.push(source);
        Script::new(&program.join("\n"))
    }
}

macro_rules! script {
    ($ident:ident = $file:literal,
     libs [$($lib:ident),*],
     keys [$($key:ident),*],
     args [$($arg:ident),*]) => {
        pub static $ident: ScriptSpec = ScriptSpec {
            name: $file,
            keys: &[$(stringify!($key)),*],
            args: &[$(stringify!($arg)),*],
            libs: &[$($lib),*],
            source: include_str!(concat!("../../lua/", $file, ".lua")),
            script: LazyLock::new(|| {
                ScriptSpec::program(
                    &[$($lib),*],
                    include_str!(concat!("../../lua/", $file, ".lua")),
                )
            }),
        };
    };
}

script!(CACHE_CLAIM = "cache_claim",
    libs [ARGS],
    keys [result, lock],
    args [owner, lease_ms]);
script!(CACHE_STORE = "cache_store",
    libs [ARGS],
    keys [result, lock],
    args [owner, json, ttl_seconds]);
script!(CACHE_RELEASE = "cache_release",
    libs [],
    keys [lock],
    args [owner]);
script!(RATE = "rate",
    libs [ARGS, CLOCK, BUCKET],
    keys [bucket],
    args [time_override, admission_id, capacity, refill_per_minute]);
script!(ADMIT = "admit",
    libs [ARGS, CLOCK, BUCKET, IDEMPOTENCY],
    keys [bucket, idempotency_record, idempotency_index],
    args [time_override, admission_id, capacity, refill_per_minute, idempotency_mode,
          body_hash, owner, lease_ms, ttl_seconds, status, body, max_records]);
script!(IDEMPOTENCY_FINISH = "idempotency_finish",
    libs [ARGS, IDEMPOTENCY],
    keys [idempotency_record],
    args [owner, end_mode, status, body, ttl_seconds]);
script!(IDEMPOTENCY_CONFIRM = "idempotency_confirm",
    libs [],
    keys [idempotency_record],
    args []);
script!(ACCOUNT_TOUCH = "account_touch",
    libs [ARGS, CLOCK, ACCOUNT],
    keys [account, ledger, holds],
    args [time_override, daily_allowance, page_size, cursor, idle_ttl_seconds, read_only]);
script!(LEDGER_HOLD = "ledger_hold",
    libs [ARGS, CLOCK, ACCOUNT],
    keys [account, ledger, holds],
    args [time_override, daily_allowance, cost, hold_id, lease_ms, request_id, reason,
          idle_ttl_seconds]);
script!(LEDGER_SETTLE = "ledger_settle",
    libs [ARGS, CLOCK, ACCOUNT, IDEMPOTENCY],
    keys [account, ledger, holds, idempotency_record],
    args [time_override, hold_id, hold_end, refund_reason, owner, end_mode, status, body,
          ttl_seconds, daily_allowance, idle_ttl_seconds]);
script!(LEDGER_GRANT = "ledger_grant",
    libs [ARGS, CLOCK, ACCOUNT],
    keys [account, ledger, holds, grant_marker],
    args [time_override, daily_allowance, amount, reason, request_id, marker_ttl_seconds,
          request_hash, idle_ttl_seconds]);
script!(
    API_KEY_REVOKE = "api_key_revoke",
    libs[ARGS],
    keys[key_record],
    args[revoked_at]
);

/// Every script, for the checks below and for tests that run each one.
pub static ALL: [&ScriptSpec; 12] = [
    &CACHE_CLAIM,
    &CACHE_STORE,
    &CACHE_RELEASE,
    &RATE,
    &ADMIT,
    &IDEMPOTENCY_FINISH,
    &IDEMPOTENCY_CONFIRM,
    &ACCOUNT_TOUCH,
    &LEDGER_HOLD,
    &LEDGER_SETTLE,
    &LEDGER_GRANT,
    &API_KEY_REVOKE,
];

/// One invocation being built: keys and arguments in the order the script declares them.
pub struct Call {
    pub spec: &'static ScriptSpec,
    pub(super) invocation: ScriptInvocation<'static>,
    /// The first key: on a cluster it names the node the script runs on.
    pub(super) first_key: Option<Vec<u8>>,
    keys: usize,
    args: usize,
}

impl Call {
    pub fn new(spec: &'static ScriptSpec) -> Self {
        Self {
            spec,
            invocation: spec.script.prepare_invoke(),
            first_key: None,
            keys: 0,
            args: 0,
        }
    }

    pub fn key<T: ToRedisArgs>(&mut self, key: T) -> &mut Self {
        if self.first_key.is_none() {
            self.first_key = key.to_redis_args().into_iter().next();
        }
        self.invocation.key(key);
        self.keys += 1;
        self
    }

    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.invocation.arg(arg);
        self.args += 1;
        self
    }

    /// A call whose counts differ from the declaration is a bug in the caller.
    pub(super) fn check(&self) -> Result<(), String> {
        let (keys, args) = (self.spec.keys.len(), self.spec.args.len());
        if (self.keys, self.args) == (keys, args) {
            Ok(())
        } else {
            Err(format!(
                "called with {} keys and {} arguments; the script declares {keys} and {args}",
                self.keys, self.args
            ))
        }
    }
}

/// The names a script's header gives to `KEYS[i]` or `ARGV[i]` (`kind`), in order; an error
/// when the indices are not 1, 2, 3, … (a gap or a duplicate).
pub fn header_names(source: &str, kind: &str) -> Result<Vec<String>, String> {
    let prefix = format!("-- {kind}[");
    let mut names = Vec::new();
    for line in source.lines().take_while(|line| line.starts_with("--")) {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let (index, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("malformed header line {line:?}"))?;
        let index: usize = index
            .parse()
            .map_err(|_| format!("malformed index in {line:?}"))?;
        if index != names.len() + 1 {
            return Err(format!("{kind}[{index}] out of order in {line:?}"));
        }
        let name = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| format!("unnamed {kind}[{index}]"))?;
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Compares a script's header with its declaration.
pub fn check_header(spec: &ScriptSpec, source: &str) -> Result<(), String> {
    for (kind, declared) in [("KEYS", spec.keys), ("ARGV", spec.args)] {
        let documented = header_names(source, kind)?;
        if documented != declared {
            return Err(format!(
                "{}: header {kind} {documented:?}, declared {declared:?}",
                spec.name
            ));
        }
    }
    let uses = source
        .lines()
        .take_while(|line| line.starts_with("--"))
        .find_map(|line| line.split_once("Uses "))
        .map(|(_, libs)| libs.trim_end_matches('.').to_owned())
        .unwrap_or_default();
    let declared: Vec<String> = spec
        .libs
        .iter()
        .map(|l| format!("lib/{}", l.name))
        .collect();
    if uses != declared.join(", ") {
        return Err(format!(
            "{}: header uses {uses:?}, declared {declared:?}",
            spec.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_header_matches_its_declaration() {
        for spec in ALL {
            assert_eq!(check_header(spec, spec.source), Ok(()));
        }
    }

    #[test]
    fn a_header_that_disagrees_with_its_declaration_is_caught() {
        let edits = [
            // An argument documented under another index.
            ("-- ARGV[6]  body_hash", "-- ARGV[6]  request_hash"),
            // A key left out.
            (
                "-- KEYS[2]  idempotency_record",
                "-- KEYS[3]  idempotency_record",
            ),
            // A library part the declaration does not prepend.
            (
                "Uses lib/args, lib/clock, lib/bucket, lib/idempotency.",
                "Uses lib/args, lib/clock, lib/idempotency.",
            ),
        ];
        for (from, to) in edits {
            assert!(ADMIT.source.contains(from), "{from}");
            let edited = ADMIT.source.replacen(from, to, 1);
            assert!(check_header(&ADMIT, &edited).is_err(), "{to}");
        }
    }

    #[test]
    fn a_call_with_another_number_of_arguments_is_refused() {
        let mut call = Call::new(&CACHE_RELEASE);
        call.key("lock");
        assert!(call.check().is_err(), "the owner is missing");
        call.arg("owner");
        assert_eq!(call.check(), Ok(()));
        call.arg("extra");
        assert!(call.check().is_err());
    }

    /// The functions a library part defines.
    fn functions(lib: &Lib) -> Vec<String> {
        lib.source
            .lines()
            .filter_map(|line| line.strip_prefix("local function "))
            .filter_map(|rest| rest.split_once('('))
            .map(|(name, _)| format!("{name}("))
            .collect()
    }

    #[test]
    fn every_script_declares_exactly_the_library_parts_it_calls() {
        let all = [&ARGS, &CLOCK, &BUCKET, &ACCOUNT, &IDEMPOTENCY];
        for spec in ALL {
            let mut program: Vec<&str> = spec.libs.iter().map(|l| l.source).collect();
            program.push(spec.source);
            let program = program.join("\n");
            for lib in all {
                let declared = spec.libs.iter().any(|l| l.name == lib.name);
                let called = functions(lib).iter().any(|f| {
                    let definition = format!("local function {f}");
                    program.matches(f.as_str()).count() > program.matches(&definition).count()
                });
                assert_eq!(declared, called, "{} and lib/{}", spec.name, lib.name);
            }
        }
    }
}
