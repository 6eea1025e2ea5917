//! The page layer's own parts, below every page and below the error path: the shared
//! layout (`Shell`), the request's page context, rendering, the error page, query strings
//! and dates as pages show them. `error.rs`, `auth.rs` and the router render error pages
//! from here without reaching up into `pages`.

use askama::Template;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
use crate::i18n::{Lang, Tr};

/// What the shared layout needs: the translator, the language, where the language switch
/// leads, which navigation entry is current, and the page title.
#[derive(Debug, Clone)]
pub struct Shell {
    pub t: Tr,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub switch_href: String,
    pub nav: &'static str,
    pub title: String,
}

/// The request as a page sees it: language and URI.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub path: String,
    pub query: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        Ok(PageCtx {
            lang: Lang::negotiate(uri.query(), &parts.headers),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
        })
    }
}

impl PageCtx {
    pub fn t(&self) -> Tr {
        Tr { lang: self.lang }
    }

    pub fn shell(&self, nav: &'static str, title: String) -> Shell {
        let other = self.lang.other();
        let mut pairs: Vec<(String, String)> = parse_query(&self.query)
            .into_iter()
            .filter(|(k, _)| k != "lang")
            .collect();
        pairs.push(("lang".into(), other.code().into()));
        Shell {
            t: self.t(),
            lang: self.lang.code(),
            other_lang: other.code(),
            switch_href: format!("{}?{}", self.path, encode_query(&pairs)),
            nav,
            title,
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` query string.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    // Byte-wise: the input may hold multi-byte characters right after '%'.
                    let hex = |b: u8| (b as char).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Encodes pairs as a query string, escaping everything but unreserved characters.
pub fn encode_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k.as_ref(), &mut out);
        out.push('=');
        enc(v.as_ref(), &mut out);
    }
    out
}

/// A date as people in Viet Nam write it: 01/07/2025.
pub fn display_date(d: time::Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year())
}

/// Links to the previous and next pages of a list, keeping the other parameters.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub page: u32,
    pub last: u32,
}

impl Pager {
    pub fn new(ctx: &PageCtx, page: u32, last: u32) -> Self {
        let href = |p: u32| {
            let mut pairs: Vec<(String, String)> = parse_query(&ctx.query)
                .into_iter()
                .filter(|(k, _)| k != "page")
                .collect();
            pairs.push(("page".into(), p.to_string()));
            format!("{}?{}", ctx.path, encode_query(&pairs))
        };
        Self {
            prev_href: (page > 1).then(|| href(page - 1)),
            next_href: (page < last).then(|| href(page + 1)),
            page,
            last,
        }
    }
}

/// Renders a template, or a bare 500 if the template itself fails (which the page tests
/// would catch first).
pub fn render<T: Template>(tpl: &T) -> Response {
    match tpl.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            res.extensions_mut()
                .insert(crate::error::InternalCause(format!("template: {e}")));
            res
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    shell: Shell,
    t: Tr,
    message: String,
    code: &'static str,
}

/// The friendly error page, in the reader's language, with the error's status.
pub fn error_page(err: AppError, lang: Lang) -> Response {
    let t = Tr { lang };
    let ctx = PageCtx {
        lang,
        path: "/".into(),
        query: String::new(),
    };
    let tpl = ErrorTemplate {
        shell: ctx.shell("", t.get("error-page-title")),
        t,
        message: err.message(lang),
        code: err.code,
    };
    let mut res = render(&tpl);
    *res.status_mut() = err.status;
    err.decorate(&mut res);
    if let Some(cause) = err.internal {
        res.extensions_mut()
            .insert(crate::error::InternalCause(cause));
    }
    res
}

/// An error on an HTML page: rendered as a page in the reader's language.
#[derive(Debug)]
pub struct PageError(pub Box<AppError>, pub Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(*self.0, self.1)
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// Attaches a language to an error for pages: `result.page(lang)?`.
pub trait PageErrorExt<T> {
    fn page(self, lang: Lang) -> PageResult<T>;
}

impl<T, E: Into<AppError>> PageErrorExt<T> for Result<T, E> {
    fn page(self, lang: Lang) -> PageResult<T> {
        self.map_err(|e| PageError(Box::new(e.into()), lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip_keeps_vietnamese_and_symbols() {
        let pairs = vec![
            ("q".to_owned(), "Bến Thành & co".to_owned()),
            ("page".to_owned(), "2".to_owned()),
        ];
        let enc = encode_query(&pairs);
        assert_eq!(enc, "q=B%E1%BA%BFn%20Th%C3%A0nh%20%26%20co&page=2");
        assert_eq!(parse_query(&enc), pairs);
        assert_eq!(
            parse_query("a=%zz&b=%4"),
            vec![("a".into(), "%zz".into()), ("b".into(), "%4".into())]
        );
        assert_eq!(parse_query("a=%é1"), vec![("a".into(), "%é1".into())]);
    }
}
