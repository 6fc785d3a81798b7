//! W3C trace context (`traceparent`): a request continues the caller's trace when it sends
//! one, or starts a trace of its own; either way the response carries a `traceparent` naming
//! this request's span, so the next hop (or the client's own tracing) can continue from it.
//! The trace id is in every log line of the request and in every problem body.

/// A request's place in a trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceContext {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// This request's span: 16 lowercase hex digits.
    pub span_id: String,
    /// The caller's span, when the trace came from the caller.
    pub parent_id: Option<String>,
    /// Trace flags (01 = sampled).
    pub flags: String,
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl TraceContext {
    /// Continues the trace of a valid `traceparent` (version 00, non-zero ids), or starts
    /// a new one.
    pub fn from_header(header: Option<&str>) -> Self {
        let span_id = crate::ids::hex64();
        if let Some(value) = header {
            let parts: Vec<&str> = value.trim().split('-').collect();
            if let [version, trace_id, parent_id, flags] = parts[..]
                && version == "00"
                && is_hex(trace_id, 32)
                && trace_id != "0".repeat(32)
                && is_hex(parent_id, 16)
                && parent_id != "0".repeat(16)
                && is_hex(flags, 2)
            {
                return Self {
                    trace_id: trace_id.to_owned(),
                    span_id,
                    parent_id: Some(parent_id.to_owned()),
                    flags: flags.to_owned(),
                };
            }
        }
        Self {
            trace_id: crate::ids::hex128(),
            span_id,
            parent_id: None,
            flags: "01".into(),
        }
    }

    /// The `traceparent` naming this request's span.
    pub fn header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span() {
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = TraceContext::from_header(Some(caller));

        assert_eq!(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(is_hex(&trace.span_id, 16));
        assert_ne!(trace.span_id, "00f067aa0ba902b7");
        assert!(
            trace
                .header()
                .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        );
    }

    #[test]
    fn an_invalid_or_missing_traceparent_starts_a_trace() {
        for header in [
            None,
            Some("garbage"),
            Some("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        ] {
            let trace = TraceContext::from_header(header);
            assert!(is_hex(&trace.trace_id, 32), "{header:?}");
            assert_eq!(trace.parent_id, None, "{header:?}");
        }
    }
}
