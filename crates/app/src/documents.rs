//! A citizen's own documents: uploaded once, kept by their SHA-256, attached to
//! applications by reference, read by their owner and by the staff deciding an application
//! they are attached to (an audited read).

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::registry::clean_text;
use sohoa_domain::CitizenId;
use sohoa_storage::files::{self, Document, Origin};
use sohoa_storage::StorageError;

use crate::{blocking, Acting, App, Error, Result};

/// The signed-in citizen, for what only they may do with their own data.
pub fn own_id(who: &Principal) -> Result<&CitizenId> {
    match who {
        Principal::Citizen(id) => {
            crate::authorize(who, Action::ReadOwnData, &Target::citizen(id))?;
            Ok(id)
        }
        _ => Err(Error::forbidden("forbidden")),
    }
}

/// Adds checked bytes (their media type already sniffed by the channel) to the signed-in
/// citizen's documents, under `name` ("document" when none).
pub async fn keep(
    app: &App,
    who: Acting<'_>,
    name: Option<&str>,
    bytes: Vec<u8>,
    media: &str,
) -> Result<Document> {
    let me = own_id(who.principal)?.clone();
    let name = match name.map(clean_text) {
        None => "document".to_owned(),
        Some(Some(n)) if n.chars().count() <= 200 && !n.chars().any(char::is_control) => n,
        Some(_) => return Err(Error::unprocessable("invalid_document_name").field("name")),
    };
    let record =
        AuditRecord::new(who.actor(), "document.upload", "document", "").client_addr(who.addr());
    put(app, &me, name, bytes, media, Origin::Upload, record).await
}

/// Stores `bytes` (off the async workers) and adds them to `owner`'s documents with their
/// origin, `record` (its object filled in here) committed with the row. The same bytes
/// twice make one document.
pub(crate) async fn put(
    app: &App,
    owner: &CitizenId,
    name: String,
    bytes: Vec<u8>,
    media: &str,
    origin: Origin,
    record: AuditRecord,
) -> Result<Document> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let store = app.files.clone();
    let sha256 = blocking(move || store.put(&bytes)).await??;
    let doc = Document {
        id: format!("doc_{}", hex::encode(crate::random_bytes::<12>()?)),
        owner: owner.clone(),
        sha256,
        size,
        media_type: media.to_owned(),
        name,
        created_at: sohoa_storage::applications::now(),
        origin,
    };
    let mut tx = app.db.begin().await?;
    let stored = files::add(&mut tx, &doc, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(stored)
}

/// The signed-in citizen's documents, newest first: what an application can reuse.
pub async fn list(app: &App, who: &Principal) -> Result<Vec<Document>> {
    let me = own_id(who)?;
    Ok(files::list(&app.db, me.as_str(), 500).await?)
}

/// One of the signed-in citizen's documents with its bytes; another's is absent.
pub async fn read_own(app: &App, who: &Principal, id: &str) -> Result<(Document, Vec<u8>)> {
    let me = own_id(who)?;
    let doc = files::get(&app.db, id)
        .await?
        .filter(|d| &d.owner == me)
        .ok_or_else(|| Error::not_found("document_not_found"))?;
    let bytes = bytes_of(app, &doc).await?;
    Ok((doc, bytes))
}

/// A document attached to an application, with its bytes, for whoever may read the
/// application (staff's reading audited).
pub async fn read_attached(
    app: &App,
    who: Acting<'_>,
    number: &str,
    id: &str,
) -> Result<(Document, Vec<u8>)> {
    use crate::applications::{audit_read, load_for};
    let found = load_for(app, who.principal, number, Action::ReadApplication).await?;
    let doc = files::attached(&app.db, &found.number)
        .await?
        .into_iter()
        .find(|a| a.document.id == id)
        .ok_or_else(|| Error::not_found("document_not_found"))?
        .document;
    audit_read(app, who, &found.applicant, &found.number).await?;
    let bytes = bytes_of(app, &doc).await?;
    Ok((doc, bytes))
}

async fn bytes_of(app: &App, doc: &Document) -> Result<Vec<u8>> {
    let store = app.files.clone();
    let sha = doc.sha256.clone();
    blocking(move || store.get(&sha))
        .await??
        .ok_or_else(|| Error::internal(format!("the file of {} is missing", doc.id)))
}
