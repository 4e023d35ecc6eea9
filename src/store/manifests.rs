//! Manifests: the consignments of a set of orders handed to the carrier together
//! (Linnworks' CreateManifest), kept so that PrintManifest can print them later.

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use super::{Store, StoreError, StoreResult, now, sql_limit, with_pool};

/// One consignment on a manifest, as it was when the manifest was created.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ManifestConsignment {
    /// Linnworks order id (GUID string), as in the queue.
    pub order_id: String,
    pub num_order_id: Option<i64>,
    /// The reference printed for the order (Linnworks reference number or order number).
    pub order_reference: String,
    pub consignment_no: String,
    pub tracking_number: String,
    /// The recipient's postcode, empty when unknown.
    pub postcode: String,
    /// The postal service name.
    pub service: String,
}

/// A stored manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredManifest {
    pub id: i64,
    pub installation: String,
    /// The `ManifestReference` handed to Linnworks; unique per installation.
    pub reference: String,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<ManifestConsignment>,
}

type ManifestRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Json<Vec<ManifestConsignment>>,
);

fn from_row((id, installation, reference, created_at, entries): ManifestRow) -> StoredManifest {
    StoredManifest {
        id,
        installation,
        reference,
        created_at,
        entries: entries.0,
    }
}

const MANIFEST_COLUMNS: &str = "id, installation, reference, created_at, entries";

/// Characters of the random part of a reference: no 0/O or 1/I, which staff misread.
const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const REFERENCE_RANDOM_LEN: usize = 6;
/// Attempts at a reference nobody used yet (a collision needs the same day and 32^6 luck).
const REFERENCE_TRIES: usize = 5;

/// `MAN-20260620-7QK2XH`: the day, for people sorting paperwork, and a random part, so
/// replicas need no shared counter and references do not reveal volumes.
fn new_reference(at: DateTime<Utc>) -> String {
    let mut rng = rand::rng();
    let random: String = (0..REFERENCE_RANDOM_LEN)
        .map(|_| char::from(REFERENCE_ALPHABET[rng.random_range(0..REFERENCE_ALPHABET.len())]))
        .collect();
    format!("MAN-{}-{random}", at.format("%Y%m%d"))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// Stores a manifest of `consignments` under a new reference, and returns it.
    pub async fn create_manifest(
        &self,
        installation: &str,
        consignments: &[ManifestConsignment],
    ) -> StoreResult<StoredManifest> {
        if installation.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "a manifest needs an installation".into(),
            ));
        }
        if consignments.is_empty() {
            return Err(StoreError::InvalidArgument(
                "a manifest needs at least one consignment".into(),
            ));
        }
        let created_at = now();
        let entries = Json(consignments.to_vec());
        let insert = format!(
            "INSERT INTO manifests (installation, reference, created_at, entries) \
             VALUES ($1, $2, $3, $4) RETURNING {MANIFEST_COLUMNS}"
        );
        let mut last = None;
        for _ in 0..REFERENCE_TRIES {
            let reference = new_reference(created_at);
            let result: Result<ManifestRow, sqlx::Error> = with_pool!(self, pool => {
                sqlx::query_as(&insert)
                    .bind(installation)
                    .bind(&reference)
                    .bind(created_at)
                    .bind(&entries)
                    .fetch_one(pool)
                    .await
            });
            match result {
                Ok(row) => return Ok(from_row(row)),
                Err(e) if is_unique_violation(&e) => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(
            || StoreError::InvalidArgument("no manifest reference could be chosen".into()),
            StoreError::Database,
        ))
    }

    /// The installation's manifest with this reference (another installation's is not found).
    pub async fn manifest(
        &self,
        installation: &str,
        reference: &str,
    ) -> StoreResult<Option<StoredManifest>> {
        let select = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE installation = $1 AND reference = $2"
        );
        let row: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(&select)
                .bind(installation)
                .bind(reference.trim())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(from_row))
    }

    /// The installation's manifests, newest first, at most `limit`.
    pub async fn manifests(
        &self,
        installation: &str,
        limit: u32,
    ) -> StoreResult<Vec<StoredManifest>> {
        let select = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE installation = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(&select)
                .bind(installation)
                .bind(sql_limit(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Deletes manifests created before `older_than` (retention); returns how many.
    pub async fn prune_manifests(&self, older_than: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_in_batches("manifests", "created_at < $1", older_than)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_carry_the_day_and_an_unambiguous_random_part() {
        let at = DateTime::parse_from_rfc3339("2026-06-20T17:05:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap();
        let a = new_reference(at);
        assert!(a.starts_with("MAN-20260620-"), "{a}");
        let random = &a["MAN-20260620-".len()..];
        assert_eq!(random.len(), REFERENCE_RANDOM_LEN);
        assert!(
            random.bytes().all(|b| REFERENCE_ALPHABET.contains(&b)),
            "{a}"
        );
        assert_ne!(a, new_reference(at), "two references in a row differ");
    }
}
