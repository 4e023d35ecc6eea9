//! Master data per installation: Stream depots and delivery methods, Linnworks identifiers,
//! and the Linnworks postal services created from the depots. Each set is replaced whole by
//! its nightly sync, in one transaction, with the time of the sync.

use chrono::{DateTime, Utc};

use super::model::{DeliveryMethod, Depot, Identifier, MasterData, PostalService};

use super::{Dialect, Store, StoreError, StoreResult, with_pool};
use crate::domain::MasterDataKind;

/// (depot id, name) as stored.
type DepotRow = (String, String);
/// (depot id, method id, name, type) as stored.
type MethodRow = (String, String, String, String);

const UPSERT_SYNC: &str = "INSERT INTO md_syncs (installation, kind, synced_at) VALUES ($1, $2, $3) \
    ON CONFLICT (installation, kind) DO UPDATE SET synced_at = excluded.synced_at";
const SELECT_SYNC: &str = "SELECT synced_at FROM md_syncs WHERE installation = $1 AND kind = $2";

impl Store {
    /// Replaces the installation's depots and their delivery methods with `depots`.
    pub async fn replace_depots(
        &self,
        installation: &str,
        depots: &[Depot],
        synced_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        refuse_duplicates("depot id", depots.iter().map(|d| d.id.as_str()))?;
        for depot in depots {
            refuse_duplicates(
                &format!("delivery method id of depot {}", depot.id),
                depot.delivery_methods.iter().map(|m| m.id.as_str()),
            )?;
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM md_delivery_methods WHERE installation = $1")
                .bind(installation)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM md_depots WHERE installation = $1")
                .bind(installation)
                .execute(&mut *tx)
                .await?;
            for depot in depots {
                sqlx::query("INSERT INTO md_depots (installation, depot_id, name) VALUES ($1, $2, $3)")
                    .bind(installation)
                    .bind(&depot.id)
                    .bind(&depot.name)
                    .execute(&mut *tx)
                    .await?;
                for method in &depot.delivery_methods {
                    sqlx::query(
                        "INSERT INTO md_delivery_methods \
                            (installation, depot_id, method_id, name, method_type) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(installation)
                    .bind(&depot.id)
                    .bind(&method.id)
                    .bind(&method.name)
                    .bind(&method.method_type)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query(UPSERT_SYNC)
                .bind(installation)
                .bind(MasterDataKind::Depots.as_str())
                .bind(synced_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The installation's depots (by name) with their delivery methods (by name).
    pub async fn depots(&self, installation: &str) -> StoreResult<MasterData<Depot>> {
        let (depots, methods): (Vec<DepotRow>, Vec<MethodRow>) = with_pool!(self, pool => {
            let depots = sqlx::query_as(
                "SELECT depot_id, name FROM md_depots WHERE installation = $1 \
                 ORDER BY name, depot_id",
            )
            .bind(installation)
            .fetch_all(pool)
            .await?;
            let methods = sqlx::query_as(
                "SELECT depot_id, method_id, name, method_type FROM md_delivery_methods \
                 WHERE installation = $1 ORDER BY name, method_id",
            )
            .bind(installation)
            .fetch_all(pool)
            .await?;
            (depots, methods)
        });
        let items = depots
            .into_iter()
            .map(|(id, name)| Depot {
                delivery_methods: methods
                    .iter()
                    .filter(|(depot_id, ..)| *depot_id == id)
                    .map(|(_, method_id, name, method_type)| DeliveryMethod {
                        id: method_id.clone(),
                        name: name.clone(),
                        method_type: method_type.clone(),
                    })
                    .collect(),
                id,
                name,
            })
            .collect();
        Ok(MasterData {
            items,
            synced_at: self
                .master_data_synced_at(installation, MasterDataKind::Depots)
                .await?,
        })
    }

    /// Replaces the installation's registered identifiers with `identifiers`.
    pub async fn replace_identifiers(
        &self,
        installation: &str,
        identifiers: &[Identifier],
        synced_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        refuse_duplicates("identifier tag", identifiers.iter().map(|i| i.tag.as_str()))?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM md_identifiers WHERE installation = $1")
                .bind(installation)
                .execute(&mut *tx)
                .await?;
            for identifier in identifiers {
                sqlx::query(
                    "INSERT INTO md_identifiers (installation, tag, name, identifier_id) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(installation)
                .bind(&identifier.tag)
                .bind(&identifier.name)
                .bind(identifier.identifier_id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(UPSERT_SYNC)
                .bind(installation)
                .bind(MasterDataKind::Identifiers.as_str())
                .bind(synced_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The installation's registered identifiers, by tag.
    pub async fn identifiers(&self, installation: &str) -> StoreResult<MasterData<Identifier>> {
        let items = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT tag, name, identifier_id FROM md_identifiers WHERE installation = $1 \
                 ORDER BY tag",
            )
            .bind(installation)
            .fetch_all(pool)
            .await?
        });
        Ok(MasterData {
            items,
            synced_at: self
                .master_data_synced_at(installation, MasterDataKind::Identifiers)
                .await?,
        })
    }

    /// Replaces the installation's Linnworks postal services with `services`.
    pub async fn replace_postal_services(
        &self,
        installation: &str,
        services: &[PostalService],
        synced_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        refuse_duplicates("postal service id", services.iter().map(|s| s.id.as_str()))?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM md_postal_services WHERE installation = $1")
                .bind(installation)
                .execute(&mut *tx)
                .await?;
            for service in services {
                sqlx::query(
                    "INSERT INTO md_postal_services \
                        (installation, service_id, name, vendor, depot_id, delivery_method_id) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(installation)
                .bind(&service.id)
                .bind(&service.name)
                .bind(&service.vendor)
                .bind(&service.depot_id)
                .bind(&service.delivery_method_id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(UPSERT_SYNC)
                .bind(installation)
                .bind(MasterDataKind::PostalServices.as_str())
                .bind(synced_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The installation's Linnworks postal services, by name.
    pub async fn postal_services(
        &self,
        installation: &str,
    ) -> StoreResult<MasterData<PostalService>> {
        let items = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT service_id, name, vendor, depot_id, delivery_method_id \
                 FROM md_postal_services WHERE installation = $1 ORDER BY name, service_id",
            )
            .bind(installation)
            .fetch_all(pool)
            .await?
        });
        Ok(MasterData {
            items,
            synced_at: self
                .master_data_synced_at(installation, MasterDataKind::PostalServices)
                .await?,
        })
    }

    /// When one master data set of the installation was last replaced.
    pub async fn master_data_synced_at(
        &self,
        installation: &str,
        kind: MasterDataKind,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let row: Option<(DateTime<Utc>,)> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_SYNC)
                .bind(installation)
                .bind(kind.as_str())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(t,)| t))
    }
}

/// Master data comes from the remote APIs: a repeated key is their error, reported as such
/// rather than as a database constraint violation.
fn refuse_duplicates<'a>(what: &str, keys: impl Iterator<Item = &'a str>) -> StoreResult<()> {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(StoreError::InvalidArgument(format!(
                "master data lists {what} `{key}` more than once"
            )));
        }
    }
    Ok(())
}
