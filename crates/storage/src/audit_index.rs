//! The audit log's index by record on SQLite, as sorted runs: a small LSM tree in two tables.
//!
//! A citizen's access log needs the entries about one record. A B-tree on (object, seq) puts
//! each new entry on a random leaf, and SQLite's WAL logs whole pages: every audited read
//! cost a 4 KiB page of WAL, of fsync and of checkpoint, and the group commit spent most of
//! its time there. Here entries are indexed later, in key order:
//!
//! - The *tail* (entries after the last live run) has no index; a query scans it.
//! - Once the tail holds [`Shape::run`] entries, they are sorted and written as a new run
//!   (`audit_index` rows under one run number), one full page after another.
//! - Once a level holds [`Shape::fanout`] live runs, they are merged into one run of the next
//!   level; the sources are then retired and their rows deleted.
//!
//! A run is `building` while it is written, `live` once complete, `retired` once merged into
//! another. Queries read live runs and the tail after them ([`crate::audit`]), so at every
//! commit they see each entry exactly once: live runs cover 1..=W without overlap, the tail
//! W+1.. (a merge's sources stay live until its result is, in the same commit).
//!
//! The work rides on the audit writer's own transactions ([`Upkeep::run`], a budget per
//! entry appended, so it keeps pace and shares their fsync) and runs alone when the writer
//! is idle. Its progress is in the tables; what [`Upkeep`] keeps in memory (a flush's sorted
//! keys, a merge's read positions) is a cache that it rebuilds from them after a restart or a
//! rollback ([`Upkeep::forget`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use rusqlite::{params, Connection, OptionalExtension};

use crate::Result;

/// How big runs are and how many make the next level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Entries in a run of level 0; the tail grows to about this before it is indexed.
    pub run: i64,
    /// Live runs of one level merged into one of the next.
    pub fanout: i64,
}

impl Default for Shape {
    /// A tail of 8,192 entries scans in a few milliseconds. With 64 runs a level, an entry
    /// is rewritten once up to 33 million entries and twice up to 2 billion, and a query
    /// probes at most 64 runs a level. (With sixteen a level, each entry of a log of 14
    /// million was rewritten and deleted once more: see BENCHMARKS.md.)
    fn default() -> Self {
        Self {
            run: 8_192,
            fanout: 64,
        }
    }
}

impl Shape {
    /// Units of work (an index row written or deleted) to do per audit entry appended, with
    /// the log `head` entries long. An entry that ends in a run of level L costs 2L + 1 over
    /// its life (written by the flush and by each of L merges, deleted after all but the
    /// last), and L is at most the highest level a log this long can fill. Two units more
    /// than that keep the index up with any rate of appends, and spread each merge thinly
    /// over the appends that come while it runs.
    pub fn units_per_entry(&self, head: i64) -> usize {
        let mut level = 0;
        let mut size = self.run.max(1);
        while let Some(next) = size.checked_mul(self.fanout.max(2)) {
            if next > head {
                break;
            }
            size = next;
            level += 1;
        }
        2 * level + 3
    }
}

/// Units of work in one transaction of its own, when the writer is idle.
pub const IDLE_UNITS: usize = 4_096;

/// Rows read from a merge's source at a time.
const READ_AHEAD: i64 = 256;

/// Rows inserted by one statement: fewer statements to run, and its cursor stays on the
/// run's last leaf from one row to the next.
const INSERT_ROWS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    object_type: String,
    object_id: String,
    seq: i64,
}

impl Key {
    /// Below every real key: object types are never empty.
    fn min() -> Self {
        Self {
            object_type: String::new(),
            object_id: String::new(),
            seq: i64::MIN,
        }
    }

    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            object_type: r.get(0)?,
            object_id: r.get(1)?,
            seq: r.get(2)?,
        })
    }
}

#[derive(Debug)]
struct Source {
    run: i64,
    /// The last key read from it.
    after: Key,
    ahead: VecDeque<Key>,
    exhausted: bool,
}

impl Source {
    fn new(run: i64, after: Key) -> Self {
        Self {
            run,
            after,
            ahead: VecDeque::new(),
            exhausted: false,
        }
    }

    /// Reads ahead if nothing read is left.
    fn fill(&mut self, c: &Connection) -> Result<()> {
        if self.ahead.is_empty() && !self.exhausted {
            let mut stmt = c.prepare_cached(
                "SELECT object_type, object_id, seq FROM audit_index \
                 WHERE run = ?1 AND (object_type, object_id, seq) > (?2, ?3, ?4) \
                 ORDER BY object_type, object_id, seq LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                params![
                    self.run,
                    self.after.object_type,
                    self.after.object_id,
                    self.after.seq,
                    READ_AHEAD
                ],
                Key::from_row,
            )?;
            for k in rows {
                self.ahead.push_back(k?);
            }
            self.exhausted = (self.ahead.len() as i64) < READ_AHEAD;
            if let Some(last) = self.ahead.back() {
                self.after = last.clone();
            }
        }
        Ok(())
    }
}

/// What is left of a building run, as far as this process knows.
#[derive(Debug)]
enum Progress {
    /// The tail's keys not yet written, sorted.
    Flush(VecDeque<Key>),
    Merge(Merge),
}

/// A merge under way: its sources, and the least unwritten key of each in a heap.
#[derive(Debug)]
struct Merge {
    sources: Vec<Source>,
    heads: BinaryHeap<Reverse<(Key, usize)>>,
    primed: bool,
}

impl Merge {
    fn new(sources: Vec<Source>) -> Self {
        Self {
            sources,
            heads: BinaryHeap::new(),
            primed: false,
        }
    }

    /// The least key of all sources not yet taken, if any is left.
    fn next(&mut self, c: &Connection) -> Result<Option<Key>> {
        if !self.primed {
            for i in 0..self.sources.len() {
                self.refill(c, i)?;
            }
            self.primed = true;
        }
        let Some(Reverse((key, i))) = self.heads.pop() else {
            return Ok(None);
        };
        self.refill(c, i)?;
        Ok(Some(key))
    }

    /// Moves source `i`'s next key into the heap.
    fn refill(&mut self, c: &Connection, i: usize) -> Result<()> {
        let source = &mut self.sources[i];
        source.fill(c)?;
        if let Some(k) = source.ahead.pop_front() {
            self.heads.push(Reverse((k, i)));
        }
        Ok(())
    }
}

/// Keeps the index up to date; one per writer connection.
#[derive(Debug, Default)]
pub struct Upkeep {
    shape: Shape,
    building: HashMap<i64, Progress>,
    /// Once all is done, the head at which a flush is next due: until then a batch costs
    /// one read of the head, not the catalog's queries.
    due_at: Option<i64>,
}

/// A job that can start now.
enum Start {
    Flush {
        first: i64,
        last: i64,
    },
    Merge {
        level: i64,
        sources: Vec<i64>,
        first: i64,
        last: i64,
    },
}

impl Start {
    /// The level of the run it makes.
    fn level(&self) -> i64 {
        match self {
            Start::Flush { .. } => 0,
            Start::Merge { level, .. } => *level,
        }
    }
}

impl Upkeep {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            building: HashMap::new(),
            due_at: None,
        }
    }

    /// [`Upkeep::run`] with the budget for `entries` entries just appended.
    pub fn run_for(&mut self, c: &Connection, entries: usize) -> Result<bool> {
        let head = head(c)?;
        // The check `run` makes first, on the head already read: most batches stop here.
        if self.due_at.is_some_and(|due| head < due) {
            return Ok(false);
        }
        self.run(c, entries.saturating_mul(self.shape.units_per_entry(head)))
    }

    /// Drops what is kept in memory: after a rollback it may be ahead of the tables.
    pub fn forget(&mut self) {
        self.building.clear();
        self.due_at = None;
    }

    /// Does up to about `budget` units of work inside `c`'s open transaction, lowest level
    /// first so the tail stays short (deleting a merge's sources counts at the level of the
    /// merge); returns whether work is left.
    pub fn run(&mut self, c: &Connection, mut budget: usize) -> Result<bool> {
        if let Some(due) = self.due_at {
            // Only this upkeep changes the runs, and merges follow flushes: nothing new
            // can be due before the head reaches a whole run past the index.
            if head(c)? < due {
                return Ok(false);
            }
            self.due_at = None;
        }
        // Each round uses budget or changes a run's state; the bound is a guard only.
        for _ in 0..1_000 {
            let retired: Option<(i64, i64)> = c
                .prepare_cached(
                    "SELECT run, level + 1 FROM audit_index_runs WHERE state = 'retired' \
                     ORDER BY level, run LIMIT 1",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let building: Option<(i64, i64)> = c
                .prepare_cached(
                    "SELECT run, level FROM audit_index_runs WHERE state = 'building' \
                     ORDER BY level, run LIMIT 1",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let (start, indexed) = self.next_start(c)?;
            let level = |j: &Option<(i64, i64)>| j.map_or(i64::MAX, |(_, level)| level);
            let start_level = start.as_ref().map_or(i64::MAX, Start::level);
            let lowest = level(&retired).min(level(&building)).min(start_level);
            if lowest == i64::MAX {
                self.due_at = Some(indexed + self.shape.run);
                return Ok(false);
            }
            if budget == 0 {
                return Ok(true);
            }
            match (retired, building, start) {
                (Some((run, l)), _, _) if l == lowest => {
                    budget = budget.saturating_sub(delete_some(c, run, budget)?);
                }
                (_, Some((run, l)), _) if l == lowest => {
                    budget = budget.saturating_sub(self.advance(c, run, budget)?);
                }
                (_, _, Some(start)) => self.start(c, start)?,
                _ => return Ok(true),
            }
        }
        Ok(true)
    }

    /// The lowest-level job that may start: a flush once the tail is a run long (and no
    /// flush is under way), else a merge of a level with enough live runs not already
    /// being merged (and no merge into the next level under way). Also the last entry
    /// indexed or being indexed.
    fn next_start(&self, c: &Connection) -> Result<(Option<Start>, i64)> {
        let (indexed, flushing): (i64, i64) = c
            .prepare_cached(
                "SELECT COALESCE(MAX(last_seq), 0), \
                        COUNT(*) FILTER (WHERE state = 'building' AND level = 0) \
                 FROM audit_index_runs WHERE state <> 'retired'",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if flushing == 0 && head(c)? - indexed >= self.shape.run {
            return Ok((
                Some(Start::Flush {
                    first: indexed + 1,
                    last: indexed + self.shape.run,
                }),
                indexed,
            ));
        }
        let level: Option<i64> = c
            .prepare_cached(
                "SELECT level FROM audit_index_runs r \
                 WHERE state = 'live' AND merging_into IS NULL AND NOT EXISTS \
                     (SELECT 1 FROM audit_index_runs b \
                      WHERE b.state = 'building' AND b.level = r.level + 1) \
                 GROUP BY level HAVING COUNT(*) >= ?1 ORDER BY level LIMIT 1",
            )?
            .query_row([self.shape.fanout], |r| r.get(0))
            .optional()?;
        let Some(level) = level else {
            return Ok((None, indexed));
        };
        let runs = c
            .prepare_cached(
                "SELECT run, first_seq, last_seq FROM audit_index_runs \
                 WHERE state = 'live' AND merging_into IS NULL AND level = ?1 \
                 ORDER BY first_seq LIMIT ?2",
            )?
            .query_map([level, self.shape.fanout], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((
            Some(Start::Merge {
                level: level + 1,
                sources: runs.iter().map(|r| r.0).collect(),
                first: runs.iter().map(|r| r.1).min().unwrap_or_default(),
                last: runs.iter().map(|r| r.2).max().unwrap_or_default(),
            }),
            indexed,
        ))
    }

    fn start(&mut self, c: &Connection, start: Start) -> Result<()> {
        match start {
            Start::Flush { first, last } => {
                c.prepare_cached(
                    "INSERT INTO audit_index_runs (level, first_seq, last_seq, state) \
                     VALUES (0, ?1, ?2, 'building')",
                )?
                .execute([first, last])?;
                let run = c.last_insert_rowid();
                self.building
                    .insert(run, Progress::Flush(tail_keys(c, first, last, None)?));
            }
            Start::Merge {
                level,
                sources,
                first,
                last,
            } => {
                c.prepare_cached(
                    "INSERT INTO audit_index_runs (level, first_seq, last_seq, state) \
                     VALUES (?1, ?2, ?3, 'building')",
                )?
                .execute([level, first, last])?;
                let run = c.last_insert_rowid();
                for s in &sources {
                    c.prepare_cached(
                        "UPDATE audit_index_runs SET merging_into = ?1 WHERE run = ?2",
                    )?
                    .execute([run, *s])?;
                }
                self.building.insert(
                    run,
                    Progress::Merge(Merge::new(
                        sources
                            .into_iter()
                            .map(|s| Source::new(s, Key::min()))
                            .collect(),
                    )),
                );
            }
        }
        Ok(())
    }

    /// Writes up to `budget` rows of building run `run`, and makes it live once complete;
    /// returns the units used.
    fn advance(&mut self, c: &Connection, run: i64, budget: usize) -> Result<usize> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.building.entry(run) {
            e.insert(resume(c, run)?);
        }
        let (keys, complete) = match self.building.get_mut(&run) {
            None => (Vec::new(), false),
            Some(Progress::Flush(keys)) => {
                let n = budget.min(keys.len());
                let taken: Vec<Key> = keys.drain(..n).collect();
                (taken, keys.is_empty())
            }
            Some(Progress::Merge(merge)) => {
                let mut taken = Vec::with_capacity(budget.min(IDLE_UNITS));
                while taken.len() < budget {
                    let Some(k) = merge.next(c)? else { break };
                    taken.push(k);
                }
                // Complete once every source is drained, whether or not budget is left.
                (taken, merge.primed && merge.heads.is_empty())
            }
        };
        insert_rows(c, run, &keys)?;
        let used = keys.len();
        if complete {
            c.prepare_cached("UPDATE audit_index_runs SET state = 'live' WHERE run = ?1")?
                .execute([run])?;
            c.prepare_cached(
                "UPDATE audit_index_runs SET state = 'retired', merging_into = NULL \
                 WHERE merging_into = ?1",
            )?
            .execute([run])?;
            self.building.remove(&run);
        }
        Ok(used)
    }
}

/// Writes `keys`, in order, as rows of run `run`: [`INSERT_ROWS`] a statement, the rest one
/// at a time (one statement for each count would crowd the statement cache).
fn insert_rows(c: &Connection, run: i64, keys: &[Key]) -> Result<()> {
    fn insert(rows: usize) -> String {
        let values = vec!["(?, ?, ?, ?)"; rows].join(", ");
        format!("INSERT INTO audit_index (run, object_type, object_id, seq) VALUES {values}")
    }
    static MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert(INSERT_ROWS));
    static ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert(1));
    let write = |sql: &str, keys: &[Key], rows: usize| -> Result<()> {
        if !keys.is_empty() {
            let mut stmt = c.prepare_cached(sql)?;
            for chunk in keys.chunks(rows) {
                let values = chunk.iter().flat_map(|k| {
                    [
                        &run as &dyn rusqlite::ToSql,
                        &k.object_type,
                        &k.object_id,
                        &k.seq,
                    ]
                });
                stmt.execute(rusqlite::params_from_iter(values))?;
            }
        }
        Ok(())
    };
    let (many, rest) = keys.split_at(keys.len() / INSERT_ROWS * INSERT_ROWS);
    write(&MANY, many, INSERT_ROWS)?;
    write(&ONE, rest, 1)?;
    Ok(())
}

/// The last sequence number of the log.
fn head(c: &Connection) -> Result<i64> {
    Ok(c.prepare_cached("SELECT seq FROM audit_head WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// The keys of entries `first..=last` of the log after `after`, sorted.
fn tail_keys(c: &Connection, first: i64, last: i64, after: Option<&Key>) -> Result<VecDeque<Key>> {
    let mut keys = c
        .prepare_cached(
            "SELECT object_type, object_id, seq FROM audit_log WHERE seq BETWEEN ?1 AND ?2",
        )?
        .query_map([first, last], Key::from_row)?
        .collect::<rusqlite::Result<Vec<Key>>>()?;
    keys.sort_unstable();
    if let Some(after) = after {
        let written = keys.partition_point(|k| k <= after);
        keys.drain(..written);
    }
    Ok(keys.into())
}

/// A building run's progress rebuilt from the tables: its rows are written in key order, so
/// the greatest one says how far it got.
fn resume(c: &Connection, run: i64) -> Result<Progress> {
    let (first, last): (i64, i64) = c
        .prepare_cached("SELECT first_seq, last_seq FROM audit_index_runs WHERE run = ?1")?
        .query_row([run], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let written: Option<Key> = c
        .prepare_cached(
            "SELECT object_type, object_id, seq FROM audit_index WHERE run = ?1 \
             ORDER BY object_type DESC, object_id DESC, seq DESC LIMIT 1",
        )?
        .query_row([run], Key::from_row)
        .optional()?;
    let sources = c
        .prepare_cached("SELECT run FROM audit_index_runs WHERE merging_into = ?1 ORDER BY run")?
        .query_map([run], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(if sources.is_empty() {
        Progress::Flush(tail_keys(c, first, last, written.as_ref())?)
    } else {
        let after = written.unwrap_or_else(Key::min);
        Progress::Merge(Merge::new(
            sources
                .into_iter()
                .map(|s| Source::new(s, after.clone()))
                .collect(),
        ))
    })
}

/// Deletes up to `budget` rows of retired run `run`, and the run once none are left;
/// returns the units used.
fn delete_some(c: &Connection, run: i64, budget: usize) -> Result<usize> {
    let offset = i64::try_from(budget.max(1) - 1).unwrap_or(i64::MAX);
    let upto: Option<Key> = c
        .prepare_cached(
            "SELECT object_type, object_id, seq FROM audit_index WHERE run = ?1 \
             ORDER BY object_type, object_id, seq LIMIT 1 OFFSET ?2",
        )?
        .query_row([run, offset], Key::from_row)
        .optional()?;
    Ok(match upto {
        Some(k) => c
            .prepare_cached(
                "DELETE FROM audit_index \
                 WHERE run = ?1 AND (object_type, object_id, seq) <= (?2, ?3, ?4)",
            )?
            .execute(params![run, k.object_type, k.object_id, k.seq])?,
        None => {
            let n = c
                .prepare_cached("DELETE FROM audit_index WHERE run = ?1")?
                .execute([run])?;
            c.prepare_cached("DELETE FROM audit_index_runs WHERE run = ?1")?
                .execute([run])?;
            n.max(1)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{audit, direct::DirectWriter, Db, DbOptions};
    use sohoa_domain::audit::AuditRecord;

    const SHAPE: Shape = Shape { run: 4, fanout: 3 };

    async fn fresh() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::sqlite_url(&dir.path().join("t.db"));
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        (dir, db)
    }

    /// Nine citizens and an account, so runs hold several entries of one record.
    fn record(i: u64) -> AuditRecord {
        let (kind, id) = if i.is_multiple_of(11) {
            ("account", "mai".to_owned())
        } else {
            ("citizen", format!("07908500000{}", i % 9))
        };
        AuditRecord::new("agency:TEST", format!("{kind}.share"), kind, id).fields(["full_name"])
    }

    fn objects() -> Vec<(&'static str, String)> {
        let mut all: Vec<_> = (0..9)
            .map(|i| ("citizen", format!("07908500000{i}")))
            .collect();
        all.push(("account", "mai".to_owned()));
        all
    }

    /// Every record's entries as the index finds them, in one go and page by page, against a
    /// scan of the whole log; and the runs' own invariants.
    async fn check(db: &Db) {
        for (kind, id) in objects() {
            let all: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM audit_log WHERE object_type = $1 AND object_id = $2 \
                 ORDER BY seq DESC",
            )
            .bind(kind)
            .bind(&id)
            .fetch_all(db.reader())
            .await
            .unwrap();
            let found: Vec<i64> = audit::entries_for_object(db, kind, &id, 10_000)
                .await
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect();
            assert_eq!(found, all, "{kind} {id}");
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let page = audit::entries_for_object_before(db, kind, &id, before, 3)
                    .await
                    .unwrap();
                assert!(page.iter().all(|e| e.record.object_id == id));
                paged.extend(page.iter().map(|e| e.seq));
                match page.last() {
                    Some(e) if page.len() == 3 => before = Some(e.seq),
                    _ => break,
                }
            }
            assert_eq!(paged, all, "{kind} {id}, page by page");
        }
        let live: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT run, first_seq, last_seq FROM audit_index_runs WHERE state = 'live' \
             ORDER BY first_seq",
        )
        .fetch_all(db.reader())
        .await
        .unwrap();
        let mut next = 1;
        for (run, first, last) in live {
            assert_eq!(
                first, next,
                "live runs cover the log without gap or overlap"
            );
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_index WHERE run = $1")
                .bind(run)
                .fetch_one(db.reader())
                .await
                .unwrap();
            assert_eq!(
                rows,
                last - first + 1,
                "run {run} holds each of its entries"
            );
            next = last + 1;
        }
    }

    fn runs_by_state(path: &std::path::Path) -> Vec<(String, i64, i64)> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare("SELECT state, level, COUNT(*) FROM audit_index_runs GROUP BY state, level")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_budget_covers_what_an_entry_costs_at_the_log_s_length() {
        let shape = Shape::default();
        assert_eq!(shape.units_per_entry(0), 3);
        assert_eq!(shape.units_per_entry(8_192 * 64 - 1), 3);
        assert_eq!(shape.units_per_entry(8_192 * 64), 5);
        assert_eq!(shape.units_per_entry(14_000_000), 5);
        assert_eq!(shape.units_per_entry(8_192 * 64 * 64), 7);
        // 8,192 · 64^8 = 2^61 is the last level below i64::MAX.
        assert_eq!(shape.units_per_entry(i64::MAX), 2 * 8 + 3);
        assert_eq!(SHAPE.units_per_entry(4 * 3 * 3), 7);
    }

    /// Small runs and budgets: flushes and merges span many transactions, and rows are
    /// inserted one at a time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_find_every_entry_once_through_restarts_and_rollbacks() {
        runs_through_restarts_and_rollbacks(SHAPE, 2).await;
    }

    /// Runs and budgets past [`INSERT_ROWS`], so rows go in many at a time and the rest one
    /// at a time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_written_many_rows_a_statement_find_every_entry_once() {
        runs_through_restarts_and_rollbacks(Shape { run: 37, fanout: 3 }, 23).await;
    }

    async fn runs_through_restarts_and_rollbacks(shape: Shape, units_per_entry: usize) {
        let (dir, db) = fresh().await;
        let path = dir.path().join("t.db");
        let writer = DirectWriter::new(&path);
        let mut upkeep = Upkeep::new(shape);
        let mut i = 0u64;
        for batch in 0..160u64 {
            let n = 1 + (batch * 7 % 5) as usize;
            let records: Vec<_> = (0..n).map(|k| record(i + k as u64)).collect();
            if batch % 13 == 5 {
                // Another writer's entries, in a transaction of its own: the upkeep finds
                // them in the tail like any other.
                let mut tx = db.begin().await.unwrap();
                audit::append_many(&mut tx, &records).await.unwrap();
                tx.commit().await.unwrap();
                i += n as u64;
                continue;
            }
            let _writing = db.write_lock().await.unwrap();
            let budget = n * units_per_entry;
            let out = writer.transaction(|tx| {
                audit::append_direct(tx, &records)?;
                upkeep.run(tx, budget)?;
                if batch % 17 == 9 {
                    return Err(crate::StorageError::Corrupt(
                        "rolled back on purpose".into(),
                    ));
                }
                Ok(())
            });
            match out {
                Ok(()) => i += n as u64,
                Err(_) => upkeep.forget(),
            }
            if batch % 19 == 3 {
                // A restart: nothing kept in memory.
                upkeep = Upkeep::new(shape);
            }
            drop(_writing);
            if batch % 10 == 0 {
                check(&db).await;
            }
        }
        check(&db).await;
        // Left alone, the upkeep finishes: every run live, the tail shorter than a run.
        {
            let _writing = db.write_lock().await.unwrap();
            while writer.transaction(|tx| upkeep.run(tx, 5)).unwrap() {}
        }
        check(&db).await;
        let runs = runs_by_state(&path);
        assert!(runs.iter().all(|(state, _, _)| state == "live"), "{runs:?}");
        assert!(
            runs.iter().any(|(_, level, _)| *level >= 2),
            "merges reached level 2: {runs:?}"
        );
        let (head, _) = audit::head(&db).await.unwrap();
        assert_eq!(head, i as i64);
        let indexed: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(last_seq), 0) FROM audit_index_runs WHERE state = 'live'",
        )
        .fetch_one(db.reader())
        .await
        .unwrap();
        assert!(head - indexed < shape.run, "tail {}", head - indexed);
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_index")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!(rows, indexed, "retired runs are deleted");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sink_indexes_its_entries_and_others_when_idle() {
        let (dir, db) = fresh().await;
        let sink = audit::AuditSink::spawn_shaped(db.clone(), SHAPE);
        let mut tasks = Vec::new();
        for i in 0..120 {
            let sink = sink.clone();
            tasks.push(tokio::spawn(async move { sink.record(record(i)).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // Entries of another writer are indexed by the sink's idle upkeep.
        let mut tx = db.begin().await.unwrap();
        audit::append_many(&mut tx, &(120..150).map(record).collect::<Vec<_>>())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let path = dir.path().join("t.db");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let indexed: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(last_seq), 0) FROM audit_index_runs WHERE state = 'live'",
            )
            .fetch_one(db.reader())
            .await
            .unwrap();
            let runs = runs_by_state(&path);
            if indexed > 150 - SHAPE.run && runs.iter().all(|(s, _, _)| s == "live") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "idle upkeep did not finish: {indexed} indexed, {runs:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        check(&db).await;
    }
}
