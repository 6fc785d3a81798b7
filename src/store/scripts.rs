//! The Lua scripts in `lua/`, compiled into the binary and loaded into Redis on demand.
//!
//! Each script is one atomic operation (see the header of its file for `KEYS`, `ARGV` and the
//! reply). redis-rs sends `EVALSHA` and, when Redis answers `NOSCRIPT` (after a restart or
//! `SCRIPT FLUSH`), loads the source and retries — so nothing has to be preloaded.

use std::sync::LazyLock;

use redis::Script;

/// A script with the name used in logs and metrics.
pub struct NamedScript {
    pub name: &'static str,
    pub script: Script,
}

macro_rules! lua_script {
    ($ident:ident, $file:literal) => {
        pub static $ident: LazyLock<NamedScript> = LazyLock::new(|| NamedScript {
            name: $file,
            script: Script::new(include_str!(concat!("../../lua/", $file, ".lua"))),
        });
    };
}

/// A script that touches an actor's account, prepended with the shared helpers of
/// `lua/lib/account.lua` (Lua scripts cannot include each other).
macro_rules! account_script {
    ($ident:ident, $file:literal) => {
        pub static $ident: LazyLock<NamedScript> = LazyLock::new(|| NamedScript {
            name: $file,
            script: Script::new(concat!(
                include_str!("../../lua/lib/account.lua"),
                "\n",
                include_str!(concat!("../../lua/", $file, ".lua"))
            )),
        });
    };
}

lua_script!(CACHE_CLAIM, "cache_claim");
lua_script!(CACHE_STORE, "cache_store");
lua_script!(CACHE_RELEASE, "cache_release");

lua_script!(API_KEY_REVOKE, "api_key_revoke");
lua_script!(IDEMPOTENCY_FINISH, "idempotency_finish");
account_script!(ADMIT, "admit");
account_script!(ACCOUNT_TOUCH, "account_touch");
account_script!(LEDGER_HOLD, "ledger_hold");
account_script!(LEDGER_SETTLE, "ledger_settle");
account_script!(LEDGER_GRANT, "ledger_grant");
