//! Languages and messages. Every user-facing string lives in `locales/*/main.ftl` (Project
//! Fluent); Rust code refers to messages by key only. Vietnamese is the default.

use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Vi, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("vi") {
            Some(Lang::Vi)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// Picks the language: `?lang=` first, then the `lang` cookie, then the best
    /// Accept-Language entry we speak, then Vietnamese.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(l) = query.and_then(query_lang) {
            return l;
        }
        if let Some(l) = cookie_lang(headers) {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(accept_language)
            .unwrap_or_default()
    }
}

/// The `lang` parameter of a query string, if it names a language we speak.
pub fn query_lang(query: &str) -> Option<Lang> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

/// The highest-weighted language of an Accept-Language header that we speak.
fn accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in value.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or_default();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(l) = Lang::parse(tag) {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map(|(_, l)| l)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::negotiate(parts.uri.query(), &parts.headers))
    }
}

pub struct Catalog {
    vi: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

pub const VI_FTL: &str = include_str!("../locales/vi/main.ftl");
pub const EN_FTL: &str = include_str!("../locales/en/main.ftl");

fn bundle(lang: Lang, source: &str) -> FluentBundle<FluentResource> {
    let id = match lang {
        Lang::Vi => unic_langid::langid!("vi"),
        Lang::En => unic_langid::langid!("en"),
    };
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks would end up inside HTML attributes and JSON strings.
    b.set_use_isolating(false);
    // A syntax error keeps the messages that did parse; the locale test fails on any error,
    // so a broken file never ships.
    let res = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(res, _errors)| res);
    if let Err(errors) = b.add_resource(res) {
        tracing::error!(
            lang = lang.code(),
            ?errors,
            "duplicate messages in locale file"
        );
    }
    b
}

/// The message catalog, parsed once from the embedded files.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        vi: bundle(Lang::Vi, VI_FTL),
        en: bundle(Lang::En, EN_FTL),
    })
}

impl Catalog {
    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }

    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).has_message(key)
    }

    /// The message `key` in `lang` with `args` filled in. A missing key shows as the key
    /// itself, which the locale tests forbid.
    pub fn get(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, lang = lang.code(), "missing message");
            return key.to_owned();
        };
        let fargs = (!args.is_empty()).then(|| {
            let mut a = FluentArgs::new();
            for (k, v) in args {
                a.set(*k, v.clone());
            }
            a
        });
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, fargs.as_ref(), &mut errors)
            .into_owned()
    }
}

/// A translator bound to one language, handed to templates as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn get(&self, key: &str) -> String {
        catalog().get(self.lang, key, &[])
    }
    pub fn with(&self, key: &str, name: &str, value: impl ToString) -> String {
        catalog().get(self.lang, key, &[(name, value.to_string())])
    }

    pub fn with2(
        &self,
        key: &str,
        name: &str,
        value: impl ToString,
        name2: &str,
        value2: impl ToString,
    ) -> String {
        catalog().get(
            self.lang,
            key,
            &[(name, value.to_string()), (name2, value2.to_string())],
        )
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Catalog")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(src: &str) -> Vec<String> {
        src.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    #[test]
    fn both_locales_parse_without_errors_and_have_the_same_keys() {
        for src in [VI_FTL, EN_FTL] {
            assert!(FluentResource::try_new(src.to_owned()).is_ok());
        }
        let (mut vi, mut en) = (keys(VI_FTL), keys(EN_FTL));
        vi.sort();
        en.sort();
        assert_eq!(vi, en);
        assert!(vi.len() > 50);
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists_in_both_locales() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut used = Vec::new();
        let sources: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        assert!(!sources.is_empty());
        for src in &sources {
            for part in src
                .split("t.get(\"")
                .skip(1)
                .chain(src.split("t.with(\"").skip(1))
            {
                if let Some((key, _)) = part.split_once('"') {
                    used.push(key.to_owned());
                }
            }
        }
        used.extend(
            crate::error::ALL_CODES
                .iter()
                .map(|c| crate::error::message_key(c)),
        );
        assert!(used.len() > 30);
        for key in used {
            for lang in Lang::ALL {
                assert!(
                    catalog().has(lang, &key),
                    "{key} missing in {}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn negotiation_prefers_query_then_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &h), Lang::Vi);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr;q=1, en-US;q=0.8, vi;q=0.5"
                .parse()
                .unwrap_or(axum::http::HeaderValue::from_static("")),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        h.insert(
            header::COOKIE,
            axum::http::HeaderValue::from_static("a=b; lang=vi"),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::Vi);
        assert_eq!(Lang::negotiate(Some("x=1&lang=en"), &h), Lang::En);
        assert_eq!(Lang::negotiate(Some("lang=de"), &h), Lang::Vi);
    }

    #[test]
    fn messages_take_arguments() {
        assert_eq!(
            Tr { lang: Lang::En }.with("units-count", "count", 168),
            "168 units"
        );
        assert_eq!(
            Tr { lang: Lang::Vi }.with("units-count", "count", 168),
            "168 đơn vị"
        );
    }
}
