//! `GET /problems/{slug}`: a short page for each problem type, so the `type` of every
//! problem document leads somewhere — what the problem means and what to do about it.

use poem::Request;
use poem_openapi::{OpenApi, param::Path, payload::Html};

use super::{
    ApiTags,
    context::RequestContext,
    error::{ApiError, doc},
    problem::ProblemCode,
};

pub struct ProblemsApi;

/// Escapes `text` for HTML and turns `code` spans into `<code>` elements.
fn html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The page of `code`.
pub fn page(code: ProblemCode) -> String {
    let info = code.info();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Trickster Oracle API</title>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n<p>HTTP status {status}; <code>code</code> in the problem body: \
         <code>{name}</code>.</p>\n<h2>What it means</h2>\n<p>{description}</p>\n\
         <h2>What to do</h2>\n<p>{advice}</p>\n\
         <p>Every problem body also has a <code>request_id</code>; the service log holds \
         everything about the request under it. <a href=\"/docs\">API documentation</a>.</p>\n\
         </main>\n</body>\n</html>\n",
        title = html(info.title),
        status = info.status.as_u16(),
        name = html(&code.name()),
        description = html(info.description),
        advice = html(info.advice),
    )
}

#[OpenApi(tag = "ApiTags::System")]
impl ProblemsApi {
    /// What a problem type means and what to do about it (the `type` of a problem document).
    #[oai(
        path = "/problems/:slug",
        method = "get",
        operation_id = "explainProblem"
    )]
    async fn explain(
        &self,
        req: &Request,
        /// The last part of a problem `type`, such as `rate-limited`.
        #[oai(validator(pattern = r"^[a-z-]{1,64}$"))]
        slug: Path<String>,
    ) -> Result<Html<String>, ApiError<{ doc::BASE | doc::NOT_FOUND | doc::INVALID }>> {
        let uri = format!("/problems/{}", slug.0);
        let code = ProblemCode::ALL
            .into_iter()
            .find(|code| code.type_uri() == uri)
            .ok_or_else(|| ApiError::not_found(format!("slug: no problem type {:?}", slug.0)))?;
        RequestContext::of(req).note_header(
            "content-security-policy",
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
                .into(),
        );
        Ok(Html(page(code)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_has_a_page_that_says_what_to_do() {
        for code in ProblemCode::ALL {
            let info = code.info();
            assert!(!info.advice.is_empty(), "{code:?} has no advice");
            let page = page(code);
            assert!(page.contains(&format!("<h1>{}</h1>", info.title)), "{page}");
            assert!(!page.contains('`'), "code spans are rendered: {page}");
        }
    }

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(
            html("`<key>` & \"x\""),
            "<code>&lt;key&gt;</code> &amp; &quot;x&quot;"
        );
    }
}
