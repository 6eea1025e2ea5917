//! The audit log's storage: append inside the caller's transaction, read, verify.

use sohoa_domain::audit::{
    entry_hash, AuditEntry, AuditRecord, ChainBreak, ChainVerifier, Outcome,
};
use sqlx::any::AnyRow;

use crate::audit_index::{Shape, Upkeep};
use crate::batch::{BatchWrite, GroupCommit};
use crate::{int, opt_text, text, Db, Result, StorageError, Tx};

/// Appends `record` to the chain within `tx`: it commits or rolls back with the change it
/// records. The first statement updates the head row, which serializes concurrent appenders
/// until commit, so the chain never forks.
pub async fn append(tx: &mut Tx, record: &AuditRecord) -> Result<AuditEntry> {
    let mut entries = append_many(tx, std::slice::from_ref(record)).await?;
    entries
        .pop()
        .ok_or_else(|| StorageError::Corrupt("no audit entry appended".into()))
}

/// Most rows per INSERT when appending many entries; see [`crate::pow2_chunks`].
const APPEND_CHUNK: usize = 128;

/// Appends `records`, in order, within `tx`: one head update reserves their sequence
/// numbers (and serializes appenders, as in [`append`]), the hashes are chained in memory,
/// the rows go in a few multi-row inserts, and the head takes the last hash.
pub async fn append_many(tx: &mut Tx, records: &[AuditRecord]) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(records.len())
        .map_err(|_| StorageError::Corrupt("too many audit records".into()))?;
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(&mut **tx)
        .await?;
    let entries = chain(int(&head, "seq")?, text(&head, "hash")?, records);
    for chunk in crate::pow2_chunks(&entries, APPEND_CHUNK) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, actor_unit, action, object_type, object_id, fields, \
             purpose, outcome, client_addr, prev_hash, hash) VALUES {}",
            crate::values_placeholders(tx, chunk.len(), 13)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            let r = &e.record;
            let fields = fields_json(r)?;
            q = q
                .bind(e.seq)
                .bind(r.at.as_str())
                .bind(r.actor.as_str())
                .bind(r.actor_unit.as_deref())
                .bind(r.action.as_str())
                .bind(r.object_type.as_str())
                .bind(r.object_id.as_str())
                .bind(fields)
                .bind(r.purpose.as_deref())
                .bind(r.outcome.as_str())
                .bind(r.client_addr.as_deref())
                .bind(e.prev_hash.as_str())
                .bind(e.hash.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(last_hash(&entries))
        .execute(&mut **tx)
        .await?;
    Ok(entries)
}

/// `records` chained after the entry the head held before it reserved their numbers, up to
/// `last_seq`.
fn chain(last_seq: i64, mut prev_hash: String, records: &[AuditRecord]) -> Vec<AuditEntry> {
    let first = last_seq - records.len() as i64 + 1;
    let mut entries = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let seq = first + i as i64;
        let hash = entry_hash(seq, &prev_hash, record);
        entries.push(AuditEntry {
            seq,
            record: record.clone(),
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    entries
}

fn last_hash(entries: &[AuditEntry]) -> &str {
    entries.last().map(|e| e.hash.as_str()).unwrap_or_default()
}

fn fields_json(r: &AuditRecord) -> Result<String> {
    serde_json::to_string(&r.fields).map_err(|err| StorageError::Corrupt(err.to_string()))
}

/// [`append_many`] through a connection of [`crate::direct`]: the same rows, the same head.
pub(crate) fn append_direct(
    tx: &rusqlite::Transaction<'_>,
    records: &[AuditRecord],
) -> Result<Vec<i64>> {
    let n = i64::try_from(records.len())
        .map_err(|_| StorageError::Corrupt("too many audit records".into()))?;
    // Cached like the insert: parsing statements was 6% of the group-commit thread's time.
    let (last_seq, prev_hash): (i64, String) = tx
        .prepare_cached("UPDATE audit_head SET seq = seq + ?1 WHERE id = 1 RETURNING seq, hash")?
        .query_row([n], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let entries = chain(last_seq, prev_hash, records);
    let mut insert = tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, actor_unit, action, object_type, object_id, \
         fields, purpose, outcome, client_addr, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for e in &entries {
        let r = &e.record;
        insert.execute(rusqlite::params![
            e.seq,
            r.at,
            r.actor,
            r.actor_unit,
            r.action,
            r.object_type,
            r.object_id,
            fields_json(r)?,
            r.purpose,
            r.outcome.as_str(),
            r.client_addr,
            e.prev_hash,
            e.hash,
        ])?;
    }
    tx.prepare_cached("UPDATE audit_head SET hash = ?1 WHERE id = 1")?
        .execute([last_hash(&entries)])?;
    Ok(entries.into_iter().map(|e| e.seq).collect())
}

/// Writes audit entries for requests that change nothing else (reads of personal data,
/// denials) by group commit ([`crate::batch`]): each caller gets its answer only once its
/// entry is committed, so a response never goes out before its audit entry is durable;
/// under load, many entries share one commit.
#[derive(Debug, Clone)]
pub struct AuditSink {
    writer: GroupCommit<AuditWriter>,
}

/// Appends a batch of records to the chain; on SQLite, around sqlx ([`crate::direct`]), and
/// keeps the index by record up to date ([`crate::audit_index`]).
#[derive(Debug)]
pub struct AuditWriter {
    direct: Option<crate::direct::DirectWriter>,
    upkeep: std::sync::Mutex<Upkeep>,
}

impl AuditWriter {
    /// Runs `f` on the index's upkeep in a transaction of the direct connection; what the
    /// upkeep holds in memory is dropped if the transaction does not commit.
    fn direct_transaction<T>(
        &self,
        direct: &crate::direct::DirectWriter,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &mut Upkeep) -> Result<T>,
    ) -> Result<T> {
        // A poisoned lock guards only the upkeep's cache, which `forget` resets.
        let mut upkeep = self.upkeep.lock().unwrap_or_else(|p| p.into_inner());
        let out = direct.transaction(|tx| f(tx, &mut upkeep));
        if out.is_err() {
            upkeep.forget();
        }
        out
    }
}

/// Upkeep of the index for `entries` just appended, inside their batch's transaction, in a
/// savepoint: if it fails, the batch's entries are committed all the same and the index
/// catches up later.
fn upkeep_within(tx: &rusqlite::Transaction<'_>, upkeep: &mut Upkeep, entries: usize) {
    let done = tx
        .execute_batch("SAVEPOINT upkeep")
        .map_err(StorageError::from)
        .and_then(|()| upkeep.run_for(tx, entries))
        .and_then(|_| Ok(tx.execute_batch("RELEASE upkeep")?));
    if let Err(e) = done {
        tracing::error!(error = %e, "audit index upkeep failed; the batch is kept");
        upkeep.forget();
        if let Err(e) = tx.execute_batch("ROLLBACK TO upkeep; RELEASE upkeep") {
            tracing::error!(error = %e, "audit index upkeep not rolled back");
        }
    }
}

impl BatchWrite for AuditWriter {
    type Job = AuditRecord;
    type Done = i64;

    async fn write(&self, tx: &mut Tx, jobs: &[AuditRecord]) -> Result<Vec<i64>> {
        Ok(append_many(tx, jobs)
            .await?
            .into_iter()
            .map(|e| e.seq)
            .collect())
    }

    async fn commit(&self, db: &Db, jobs: &[AuditRecord]) -> Result<Vec<i64>> {
        match &self.direct {
            Some(direct) => {
                let _writing = db.write_lock().await?;
                self.direct_transaction(direct, |tx, upkeep| {
                    let seqs = append_direct(tx, jobs)?;
                    upkeep_within(tx, upkeep, jobs.len());
                    Ok(seqs)
                })
            }
            None => crate::batch::commit_in_tx(self, db, jobs).await,
        }
    }

    /// Entries appended by others (changes audited in their own transactions) are indexed
    /// here when no read is being audited.
    async fn idle(&self, db: &Db) -> Result<bool> {
        let Some(direct) = &self.direct else {
            return Ok(false);
        };
        let _writing = db.write_lock().await?;
        self.direct_transaction(direct, |tx, upkeep| {
            upkeep.run(tx, crate::audit_index::IDLE_UNITS)
        })
    }
}

/// Most entries in one transaction.
const SINK_BATCH: usize = 2_048;

impl AuditSink {
    /// Starts the writer task (inside a Tokio runtime).
    pub fn spawn(db: Db) -> Self {
        Self::spawn_shaped(db, Shape::default())
    }

    /// [`AuditSink::spawn`] with runs of the index by record of another size (tests make
    /// them small to see them merged).
    pub fn spawn_shaped(db: Db, shape: Shape) -> Self {
        Self {
            writer: GroupCommit::spawn(
                db.clone(),
                AuditWriter {
                    direct: db.sqlite_path().map(crate::direct::DirectWriter::new),
                    upkeep: std::sync::Mutex::new(Upkeep::new(shape)),
                },
                SINK_BATCH,
            ),
        }
    }

    /// Appends several records (in one batch if the queue is idle) and waits until all are
    /// committed.
    pub async fn record_many(&self, records: Vec<AuditRecord>) -> Result<Vec<i64>> {
        self.writer.submit_many(records).await
    }

    /// Appends `record` and waits until it is committed; returns its sequence number.
    pub async fn record(&self, record: AuditRecord) -> Result<i64> {
        self.writer.submit(record).await
    }
}

const COLUMNS: &str =
    "seq, at, actor, actor_unit, action, object_type, object_id, fields, purpose, \
                       outcome, client_addr, prev_hash, hash";

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    let seq = int(row, "seq")?;
    let fields: Vec<String> = serde_json::from_str(&text(row, "fields")?)
        .map_err(|e| StorageError::Corrupt(format!("audit entry {seq}: fields: {e}")))?;
    let outcome = text(row, "outcome")?;
    Ok(AuditEntry {
        seq,
        record: AuditRecord {
            at: text(row, "at")?,
            actor: text(row, "actor")?,
            actor_unit: opt_text(row, "actor_unit")?,
            action: text(row, "action")?,
            object_type: text(row, "object_type")?,
            object_id: text(row, "object_id")?,
            fields,
            purpose: opt_text(row, "purpose")?,
            // An unknown outcome string can only come from tampering; record it as a
            // failure so the hash check (which covers it) reports the entry as altered.
            outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
            client_addr: opt_text(row, "client_addr")?,
        },
        prev_hash: text(row, "prev_hash")?,
        hash: text(row, "hash")?,
    })
}

/// The head of the chain: number of entries and the last hash.
pub async fn head(db: &Db) -> Result<(i64, String)> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(db.reader())
        .await?;
    Ok((int(&row, "seq")?, text(&row, "hash")?))
}

/// Entries after `after_seq`, oldest first.
pub async fn entries_after(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// Entries about one object, newest first (what a citizen sees of reads of their data).
pub async fn entries_for_object(
    db: &Db,
    object_type: &str,
    object_id: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    entries_for_object_before(db, object_type, object_id, None, limit).await
}

/// Entries about one object older than `before` (all when `None`), newest first: a
/// citizen's access log, page by page.
pub async fn entries_for_object_before(
    db: &Db,
    object_type: &str,
    object_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    // On SQLite the index by record is the live runs of `audit_index` and the tail after
    // them (see `audit_index`); one statement, so one snapshot sees each entry once.
    let sql = match db.backend() {
        crate::Backend::Sqlite => format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq IN ( \
                 SELECT i.seq FROM audit_index_runs r CROSS JOIN audit_index i ON i.run = r.run \
                 WHERE r.state = 'live' AND i.object_type = $1 AND i.object_id = $2 \
                   AND i.seq < $3 \
                 UNION ALL \
                 SELECT seq FROM audit_log \
                 WHERE seq > (SELECT COALESCE(MAX(last_seq), 0) FROM audit_index_runs \
                              WHERE state = 'live') \
                   AND seq < $3 AND object_type = $1 AND object_id = $2) \
             ORDER BY seq DESC LIMIT $4"
        ),
        crate::Backend::Postgres => format!(
            "SELECT {COLUMNS} FROM audit_log WHERE object_type = $1 AND object_id = $2 \
             AND seq < $3 ORDER BY seq DESC LIMIT $4"
        ),
    };
    let rows = sqlx::query(&sql)
        .bind(object_type)
        .bind(object_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The whole log (or the entries of actors acting for `actor_unit`) older than `before`,
/// newest first: what an auditor pages through.
pub async fn entries_before(
    db: &Db,
    actor_unit: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE ($1 IS NULL OR actor_unit = $1) AND seq < $2 \
         ORDER BY seq DESC LIMIT $3"
    ))
    .bind(actor_unit)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The outcome of walking the chain.
#[derive(Debug)]
pub enum Verification {
    Intact { entries: i64 },
    Broken(ChainBreak),
}

/// Walks the whole chain in batches (memory stays flat), calling `progress(checked, total)`
/// after each batch. Entries appended while it runs are left for the next run: the walk
/// stops at the head read when it started.
pub async fn verify(db: &Db, mut progress: impl FnMut(i64, i64)) -> Result<Verification> {
    const BATCH: i64 = 2_000;
    let (head_seq, _) = head(db).await?;
    let mut verifier = ChainVerifier::default();
    let mut last = 0;
    loop {
        let batch = entries_after(db, last, BATCH).await?;
        let Some(end) = batch.last().map(|e| e.seq) else {
            break;
        };
        for e in batch.iter().take_while(|e| e.seq <= head_seq) {
            if let Err(b) = verifier.check(e) {
                return Ok(Verification::Broken(b));
            }
        }
        progress(verifier.checked(), head_seq);
        if end >= head_seq {
            break;
        }
        last = end;
    }
    Ok(match verifier.finish(head_seq) {
        Ok(entries) => Verification::Intact { entries },
        Err(b) => Verification::Broken(b),
    })
}
