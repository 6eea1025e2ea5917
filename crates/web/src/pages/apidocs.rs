use askama::Template;
use axum::response::Response;
use utoipa::OpenApi;

use super::{render, PageCtx, Shell};
use crate::api::ApiDoc;
use crate::i18n::Tr;

struct Operation {
    method: String,
    path: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "apidocs.html")]
struct ApiDocsTemplate {
    shell: Shell,
    t: Tr,
    operations: Vec<Operation>,
}

/// A readable list of the API's operations, drawn from the OpenAPI document itself so it
/// can never disagree with it.
pub async fn page(ctx: PageCtx) -> Response {
    let doc = ApiDoc::openapi();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                operations.push(Operation {
                    method: method.to_owned(),
                    path: path.clone(),
                    summary: op
                        .summary
                        .clone()
                        .or_else(|| op.description.clone())
                        .unwrap_or_default(),
                });
            }
        }
    }
    let t = ctx.t();
    render(&ApiDocsTemplate {
        shell: ctx.shell("api", t.get("apidocs-title")),
        t,
        operations,
    })
}
