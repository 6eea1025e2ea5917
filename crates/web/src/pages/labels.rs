//! Names people read where the data holds codes: a procedure's, an agency's, a commune's
//! (the one in force on a given day). The code follows in brackets, for whoever has to
//! quote it; a code that names nothing is shown as it is rather than hidden.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::UnitCode;
use time::Date;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;

fn pick(lang: Lang, vi: &str, en: &str) -> String {
    if lang == Lang::En && !en.is_empty() {
        en.to_owned()
    } else {
        vi.to_owned()
    }
}

/// "Đăng ký khai sinh (1.001193)".
pub(crate) async fn procedure(
    state: &AppState,
    code: &str,
    lang: Lang,
) -> Result<String, AppError> {
    let found = match ProcedureCode::parse(code) {
        Some(c) => sohoa_app::catalog::in_force(state, &c).await?,
        None => None,
    };
    Ok(match found {
        Some(p) => format!(
            "{} ({code})",
            pick(lang, &p.procedure.name_vi, &p.procedure.name_en)
        ),
        None => code.to_owned(),
    })
}

/// "Ủy ban nhân dân phường Bến Thành (UBND-26743)".
pub(crate) async fn agency(state: &AppState, code: &str, lang: Lang) -> Result<String, AppError> {
    let found = match AgencyCode::parse(code) {
        Ok(c) => sohoa_app::agencies::find(state, &c).await?,
        Err(_) => None,
    };
    Ok(match found {
        Some(a) => format!("{} ({code})", pick(lang, &a.name_vi, &a.name_en)),
        None => code.to_owned(),
    })
}

/// "Phường Bến Thành (26743)", by the name in force on `day`.
pub(crate) fn unit(code: &str, day: Date) -> String {
    UnitCode::parse(code)
        .ok()
        .and_then(|c| sohoa_domain::units::name_on(&c, day))
        .map_or_else(|| code.to_owned(), |name| format!("{name} ({code})"))
}

/// Every agency's label by its code, for tables that name many.
pub(crate) async fn agency_names(
    state: &AppState,
    lang: Lang,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let mut names = std::collections::HashMap::new();
    for page in 1.. {
        let req = sohoa_domain::paging::PageRequest::parse(Some(page), Some(200))
            .map_err(|_| AppError::internal("a page of 200 agencies"))?;
        let found = sohoa_app::agencies::list(state, None, None, req).await?;
        let done = found.items.len() < 200;
        for a in found.items {
            let code = a.code.to_string();
            names.insert(
                code.clone(),
                format!("{} ({code})", pick(lang, &a.name_vi, &a.name_en)),
            );
        }
        if done {
            break;
        }
    }
    Ok(names)
}
