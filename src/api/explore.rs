//! The explorer page: a small front end to the API, served by the binary at `/explore`, with
//! `/` redirecting to it.
//!
//! The page is a handful of static files compiled into the binary (`src/api/explore/`): no
//! build step, no CDN, nothing fetched from anywhere but this service, so it works offline.
//! These are plain routes, like `/docs`: not API operations (absent from the OpenAPI
//! document), not rate limited, no credentials. Every file is sent with a strict
//! Content-Security-Policy (scripts and styles from this origin only, no inline code, calls
//! to this origin only) and an `ETag` with `Cache-Control: no-cache`, so a browser keeps
//! its copy and revalidates it with a cheap 304 until a new binary changes the file.

use std::sync::LazyLock;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result, Route,
    endpoint::make_sync,
    http::{StatusCode, header},
};

use super::etag;

/// Where `/` sends a browser.
pub const PAGE_PATH: &str = "/explore";

/// What the page may do: load its own scripts, styles and images, call this origin, and
/// nothing else. No `'unsafe-inline'` anywhere (the page sets styles only through the
/// CSSOM), and Trusted Types forbid string-to-DOM sinks such as `innerHTML`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
     trusted-types 'none'";

/// A file of the page.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// A file of `src/api/explore/`, served at `/explore/<file>`.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/explore/", $file),
            content_type: $content_type,
            body: include_str!(concat!("explore/", $file)),
        }
    };
}

static ASSETS: [Asset; 10] = [
    Asset {
        path: PAGE_PATH,
        content_type: HTML,
        body: include_str!("explore/index.html"),
    },
    asset!("explore.css", CSS),
    asset!("results.css", CSS),
    asset!("explore.js", JS),
    asset!("api.js", JS),
    asset!("form.js", JS),
    asset!("render.js", JS),
    asset!("charts.js", JS),
    asset!("format.js", JS),
    asset!("favicon.svg", SVG),
];

/// Strong validators, computed once: a file's ETag changes exactly when its bytes do.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| etag::of(asset.body)).collect());

/// Serves `/` and the page's files in front of the rest of the routes (the API is nested at
/// `/`, where its catch-all would otherwise take `/` too).
pub struct Explorer;

impl<E: Endpoint> Middleware<E> for Explorer {
    type Output = ExplorerEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        let mut pages = Route::new().at("/", poem::get(make_sync(|_| redirect())));
        for (index, asset) in ASSETS.iter().enumerate() {
            let endpoint = make_sync(move |req| serve(asset, &ETAGS[index], &req));
            pages = pages.at(asset.path, poem::get(endpoint));
        }
        ExplorerEndpoint { pages, inner }
    }
}

pub struct ExplorerEndpoint<E> {
    pages: Route,
    inner: E,
}

impl<E: Endpoint> Endpoint for ExplorerEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        let explorer = path
            .strip_prefix(PAGE_PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if path == "/" || explorer {
            self.pages.call(req).await
        } else {
            self.inner.call(req).await.map(IntoResponse::into_response)
        }
    }
}

/// `/` → the page. A 302, not a 308: a permanent redirect is cached by browsers with no
/// way to take it back, and what the front door shows may change; a temporary one costs a
/// round trip per visit to `/`.
fn redirect() -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, PAGE_PATH)
        .header(header::CACHE_CONTROL, "no-cache")
        .finish()
}

fn serve(asset: &Asset, etag: &str, req: &Request) -> Response {
    let builder = Response::builder()
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    if etag::not_modified(req, etag) {
        builder.status(StatusCode::NOT_MODIFIED).finish()
    } else {
        builder.content_type(asset.content_type).body(asset.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_served() {
        let page = ASSETS[0].body;
        for reference in page
            .split(['"', '\''])
            .filter(|s| s.starts_with("/explore/"))
        {
            assert!(
                ASSETS.iter().any(|a| a.path == reference),
                "{reference} is referenced by the page but not served"
            );
        }
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            for import in asset
                .body
                .split(['"', '\''])
                .filter(|s| s.starts_with("./"))
            {
                let path = format!("/explore/{}", &import[2..]);
                assert!(
                    ASSETS.iter().any(|a| a.path == path),
                    "{} imports {import}, which is not served",
                    asset.path
                );
            }
        }
    }
}
