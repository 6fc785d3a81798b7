//! [`delegate_connection_like!`](crate::delegate_connection_like): `ConnectionLike` for an
//! enum whose variants each hold a connection, by handing every call to the one it holds.

/// Implements `redis::aio::ConnectionLike` for `$ty`, an enum whose every variant holds a
/// connection: `delegate_connection_like!(Active, c in Active::Single(c), Active::Cluster(c))`
/// names the binding (`c`) and the pattern of each variant that binds it.
#[macro_export]
macro_rules! delegate_connection_like {
    ($ty:ty, $conn:ident in $($variant:pat),+ $(,)?) => {
        impl ::redis::aio::ConnectionLike for $ty {
            fn req_packed_command<'a>(
                &'a mut self,
                cmd: &'a ::redis::Cmd,
            ) -> ::redis::RedisFuture<'a, ::redis::Value> {
                match self {
                    $($variant => $conn.req_packed_command(cmd),)+
                }
            }

            fn req_packed_commands<'a>(
                &'a mut self,
                pipeline: &'a ::redis::Pipeline,
                offset: usize,
                count: usize,
            ) -> ::redis::RedisFuture<'a, Vec<::redis::Value>> {
                match self {
                    $($variant => $conn.req_packed_commands(pipeline, offset, count),)+
                }
            }

            fn get_db(&self) -> i64 {
                match self {
                    $($variant => $conn.get_db(),)+
                }
            }
        }
    };
}
