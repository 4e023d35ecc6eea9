//! Warehouse mapping (`spec.locations`): which Stream depot, delivery method and stock
//! location ship the orders of each Linnworks location. Pure: the send job reads the order's
//! location (`GeneralInfo.Location`, else `FulfilmentLocationId`) and, when an entry names
//! its location only by name, Linnworks' locations (`Inventory/GetStockLocations`), then
//! asks [`choose`] which entry applies and [`effective_mapping`] what the order is sent
//! under. An entry comes before the postal service mapping's depot, method and stock
//! location; what it leaves unset comes from the mapping.
//!
//! Fetching is not limited to mapped locations: orders of locations not listed are sent
//! with the mapping's values, as before any entry existed (GetOpenOrders filters one
//! location per query, so a limit would multiply the fetch calls by the locations).

use uuid::Uuid;

use crate::config::{InstallationConfig, MappingConfig};
use crate::crd::installation::LocationMapping;
use crate::linnworks::{OrderDetails, OrderGeneralInfo, StockLocation};
use crate::store::Depot;

use super::validation::ValidationError;

/// What an order is sent under, location-wise.
#[derive(Clone, Debug, PartialEq)]
pub enum Chosen<'a> {
    /// `spec.locations[index]` applies.
    Entry {
        index: usize,
        entry: &'a LocationMapping,
        /// How the location is shown in messages.
        location: String,
    },
    /// UseDefaultLocation with a DefaultLocation that matches no entry: sent to Stream as
    /// the stock location of every item (the setting's meaning before `spec.locations`).
    DefaultStockLocation(String),
    /// No entry applies: the postal service mapping's values.
    Mapping,
}

impl Chosen<'_> {
    /// A short phrase for audit messages, empty when the mapping's values apply.
    pub fn describe(&self) -> String {
        match self {
            Chosen::Entry {
                index,
                entry,
                location,
            } => format!(
                " from location {location} (spec.locations[{index}], depot {})",
                entry.depot
            ),
            Chosen::DefaultStockLocation(s) => format!(" with default stock location {s:?}"),
            Chosen::Mapping => String::new(),
        }
    }
}

/// The Linnworks location an order is in: `GeneralInfo.Location`, else (full orders only)
/// `FulfilmentLocationId`. The empty GUID is Linnworks' own Default location.
pub fn order_location(detail: &OrderDetails) -> Option<Uuid> {
    detail
        .general_info
        .location
        .or(detail.fulfilment_location_id)
}

/// The location of an open order (GetOpenOrders carries `GeneralInfo.Location` only).
pub fn open_order_location(general: &OrderGeneralInfo) -> Option<Uuid> {
    general.location
}

/// Whether matching needs Linnworks' list of locations: an entry named only by name, or a
/// DefaultLocation in use (it may be a name or an id of an entry's location).
pub fn needs_location_names(inst: &InstallationConfig) -> bool {
    let locations = &inst.spec.locations;
    !locations.is_empty()
        && (locations
            .iter()
            .any(|l| l.linnworks_location.id.as_deref().is_none_or(str::is_empty))
            || inst.spec.sync.use_default_location)
}

fn same_id(entry: &LocationMapping, id: Uuid) -> bool {
    entry
        .linnworks_location
        .id
        .as_deref()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        == Some(id)
}

fn same_name(entry: &LocationMapping, name: &str) -> bool {
    entry
        .linnworks_location
        .name
        .as_deref()
        .is_some_and(|n| n.trim().to_lowercase() == name.trim().to_lowercase())
}

/// The entry for the location with this id, using `known` (Linnworks' locations) to match
/// entries given by name.
fn entry_for_id<'a>(
    inst: &'a InstallationConfig,
    id: Uuid,
    known: Option<&[StockLocation]>,
) -> Option<(usize, &'a LocationMapping, String)> {
    let name = known
        .unwrap_or_default()
        .iter()
        .find(|l| l.stock_location_id == id)
        .map(|l| l.location_name.clone());
    let shown = match &name {
        Some(n) => format!("{n:?} ({id})"),
        None => id.to_string(),
    };
    inst.spec
        .locations
        .iter()
        .enumerate()
        .find(|(_, e)| same_id(e, id) || name.as_deref().is_some_and(|n| same_name(e, n)))
        .map(|(i, e)| (i, e, shown))
}

/// Which entry applies to an order in `location` (ignored with UseDefaultLocation).
pub fn choose<'a>(
    inst: &'a InstallationConfig,
    location: Option<Uuid>,
    known: Option<&[StockLocation]>,
) -> Chosen<'a> {
    let sync = &inst.spec.sync;
    if sync.use_default_location {
        let Some(default) = sync
            .default_location
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        else {
            return Chosen::Mapping;
        };
        // The DefaultLocation as an id, or as the name of a location Linnworks has.
        let as_id = Uuid::parse_str(default).ok().or_else(|| {
            known
                .unwrap_or_default()
                .iter()
                .find(|l| l.location_name.trim().to_lowercase() == default.to_lowercase())
                .map(|l| l.stock_location_id)
        });
        let by_id = as_id.and_then(|id| entry_for_id(inst, id, known));
        let by_name = || {
            inst.spec
                .locations
                .iter()
                .enumerate()
                .find(|(_, e)| same_name(e, default))
                .map(|(i, e)| (i, e, format!("{default:?}")))
        };
        return match by_id.or_else(by_name) {
            Some((index, entry, location)) => Chosen::Entry {
                index,
                entry,
                location,
            },
            None => Chosen::DefaultStockLocation(default.to_string()),
        };
    }
    match location.and_then(|id| entry_for_id(inst, id, known)) {
        Some((index, entry, location)) => Chosen::Entry {
            index,
            entry,
            location,
        },
        None => Chosen::Mapping,
    }
}

/// The mapping an order is sent under: the entry's depot, delivery method and stock
/// location over the mapping's. An entry without a delivery method keeps the mapping's when
/// the entry's depot offers it, else takes the entry depot's method of the same type
/// (Delivery, Collection, ...; from the synced `depots`), so one entry serves delivery and
/// collection services alike. A depot other than the mapping's drops the mapping's stock
/// location (it belongs to the mapping's depot) unless the entry names one.
pub fn effective_mapping(
    mapping: &MappingConfig,
    chosen: &Chosen<'_>,
    depots: &[Depot],
) -> MappingConfig {
    let mut m = mapping.clone();
    match chosen {
        Chosen::Entry { entry, .. } => {
            let depot = entry.depot.trim();
            let other_depot = !depot.eq_ignore_ascii_case(m.spec.depot.trim());
            let method = match entry.delivery_method.as_deref().map(str::trim) {
                Some(method) => Some(method.to_string()),
                None if other_depot => {
                    same_type_method(depots, &m.spec.depot, depot, &m.spec.delivery_method)
                }
                None => None,
            };
            if let Some(method) = method {
                m.spec.delivery_method = method;
            }
            m.spec.depot = depot.to_string();
            match entry.stock_location.as_deref().map(str::trim) {
                Some(stock) => m.spec.stock_location = Some(stock.to_string()),
                None if other_depot => m.spec.stock_location = None,
                None => {}
            }
        }
        Chosen::DefaultStockLocation(stock) => m.spec.stock_location = Some(stock.clone()),
        Chosen::Mapping => {}
    }
    m
}

/// The method of depot `to` standing in for `method` of depot `from`: the same method when
/// `to` offers it, else the first (by id) of `to`'s methods of the same type. `None` when
/// the depots are not synced or `to` has no such method (the check then reports it).
fn same_type_method(depots: &[Depot], from: &str, to: &str, method: &str) -> Option<String> {
    let find = |id: &str| depots.iter().find(|d| d.id.eq_ignore_ascii_case(id.trim()));
    let to = find(to)?;
    if to
        .delivery_methods
        .iter()
        .any(|m| m.id.eq_ignore_ascii_case(method.trim()))
    {
        return None;
    }
    let kind = find(from)?
        .delivery_methods
        .iter()
        .find(|m| m.id.eq_ignore_ascii_case(method.trim()))?
        .method_type
        .clone();
    let mut same: Vec<&str> = to
        .delivery_methods
        .iter()
        .filter(|m| m.method_type.eq_ignore_ascii_case(&kind))
        .map(|m| m.id.as_str())
        .collect();
    same.sort_unstable();
    same.first().map(|id| id.to_string())
}

/// With synced depots: the entry's depot exists and offers the delivery method the order
/// would be sent with.
pub fn check_entry(
    chosen: &Chosen<'_>,
    effective: &MappingConfig,
    depots: &[Depot],
) -> Result<(), ValidationError> {
    let Chosen::Entry {
        index, location, ..
    } = chosen
    else {
        return Ok(());
    };
    if depots.is_empty() {
        return Ok(());
    }
    let at = format!("spec.locations[{index}] ({location})");
    let depot = &effective.spec.depot;
    let method = &effective.spec.delivery_method;
    match depots.iter().find(|d| d.id.eq_ignore_ascii_case(depot)) {
        None => Err(ValidationError::LocationNotConfigured {
            location: at,
            reason: format!("depot {depot:?} is not a Stream depot of this account"),
        }),
        Some(d)
            if !d
                .delivery_methods
                .iter()
                .any(|m| m.id.eq_ignore_ascii_case(method)) =>
        {
            Err(ValidationError::LocationNotConfigured {
                location: at,
                reason: format!(
                    "depot {depot:?} has no delivery method {method:?} nor one of its type; set the entry's deliveryMethod"
                ),
            })
        }
        Some(_) => Ok(()),
    }
}

/// The mapping an order in `location` is sent under, with the entry that chose it; or why
/// its warehouse mapping cannot serve it (see [`check_entry`]). Fetch and send judge alike.
pub fn resolve<'a>(
    inst: &'a InstallationConfig,
    mapping: &MappingConfig,
    location: Option<Uuid>,
    known: Option<&[StockLocation]>,
    depots: &[Depot],
) -> Result<(Chosen<'a>, MappingConfig), ValidationError> {
    let chosen = choose(inst, location, known);
    let effective = effective_mapping(mapping, &chosen, depots);
    check_entry(&chosen, &effective, depots)?;
    Ok((chosen, effective))
}

/// The entries that match nothing Stream has: a depot not among the synced depots, or a
/// delivery method that depot lacks. Empty while no depots are synced.
pub fn unmatched_entries(locations: &[LocationMapping], depots: &[Depot]) -> Vec<String> {
    if depots.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, l) in locations.iter().enumerate() {
        let at = format!("spec.locations[{i}] ({})", l.linnworks_location.describe());
        match depots
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(l.depot.trim()))
        {
            None => out.push(format!("{at}: depot {:?} is not a Stream depot", l.depot)),
            Some(d) => {
                if let Some(method) = &l.delivery_method
                    && !d
                        .delivery_methods
                        .iter()
                        .any(|m| m.id.eq_ignore_ascii_case(method.trim()))
                {
                    out.push(format!(
                        "{at}: depot {:?} has no delivery method {method:?}",
                        d.id
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::example_installation;
    use crate::store::DeliveryMethod;
    use serde_json::json;

    const COVENTRY: &str = "3f1c6a52-8d0e-4b7a-9c1d-2e5f7a9b0c11";
    const LEEDS: &str = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";

    fn inst(locations: serde_json::Value) -> InstallationConfig {
        let mut inst = example_installation();
        inst.spec.locations = serde_json::from_value(locations).expect("locations");
        inst
    }

    fn depot(id: &str, methods: &[(&str, &str)]) -> Depot {
        Depot {
            id: id.into(),
            name: id.into(),
            delivery_methods: methods
                .iter()
                .map(|(id, kind)| DeliveryMethod {
                    id: (*id).into(),
                    name: (*id).into(),
                    method_type: (*kind).into(),
                })
                .collect(),
        }
    }

    fn depots() -> Vec<Depot> {
        vec![
            depot(
                "LEEDS",
                &[("HOME-2MAN", "Delivery"), ("COLLECT", "Collection")],
            ),
            depot(
                "COVENTRY",
                &[
                    ("COV-2MAN", "Delivery"),
                    ("COV-1MAN", "Delivery"),
                    ("COV-COLL", "Collection"),
                ],
            ),
        ]
    }

    fn known() -> Vec<StockLocation> {
        vec![
            StockLocation {
                stock_location_id: Uuid::parse_str(LEEDS).expect("uuid"),
                location_name: "Leeds Warehouse".into(),
                ..StockLocation::default()
            },
            StockLocation {
                stock_location_id: Uuid::parse_str(COVENTRY).expect("uuid"),
                location_name: "Coventry Warehouse".into(),
                ..StockLocation::default()
            },
        ]
    }

    fn mapping(inst: &InstallationConfig, method: &str) -> MappingConfig {
        inst.mappings
            .iter()
            .find(|m| m.spec.delivery_method == method)
            .cloned()
            .expect("example mapping")
    }

    #[test]
    fn entries_match_by_id_or_by_name_and_come_before_the_mapping() {
        let inst = inst(json!([
            {"linnworksLocation": {"name": "LEEDS WAREHOUSE"}, "depot": "LEEDS", "stockLocation": "LDS"},
            {"linnworksLocation": {"id": COVENTRY}, "depot": "COVENTRY", "stockLocation": "COV"},
        ]));
        assert!(needs_location_names(&inst));
        let leeds = Uuid::parse_str(LEEDS).ok();
        let coventry = Uuid::parse_str(COVENTRY).ok();
        // By name needs Linnworks' list; by id does not.
        assert_eq!(choose(&inst, leeds, None), Chosen::Mapping);
        let Chosen::Entry {
            index, location, ..
        } = choose(&inst, leeds, Some(&known()))
        else {
            panic!("Leeds by name")
        };
        assert_eq!(
            (index, location.as_str()),
            (
                0,
                "\"Leeds Warehouse\" (9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d)"
            )
        );
        let chosen = choose(&inst, coventry, None);
        assert!(
            matches!(chosen, Chosen::Entry { index: 1, .. }),
            "{chosen:?}"
        );
        // Another location, or none: the mapping's values.
        assert_eq!(
            choose(&inst, Some(Uuid::nil()), Some(&known())),
            Chosen::Mapping
        );
        assert_eq!(choose(&inst, None, Some(&known())), Chosen::Mapping);

        // Coventry ships from COVENTRY with its methods of each service's type.
        let home = mapping(&inst, "HOME-2MAN");
        let m = effective_mapping(&home, &chosen, &depots());
        assert_eq!(
            (
                m.spec.depot.as_str(),
                m.spec.delivery_method.as_str(),
                m.spec.stock_location.as_deref()
            ),
            ("COVENTRY", "COV-1MAN", Some("COV"))
        );
        assert_eq!(check_entry(&chosen, &m, &depots()), Ok(()));
        let collect = mapping(&inst, "COLLECT");
        let m = effective_mapping(&collect, &chosen, &depots());
        assert_eq!(m.spec.delivery_method, "COV-COLL");
        assert_eq!(
            m.spec.order_type, collect.spec.order_type,
            "the type is the service's"
        );
    }

    #[test]
    fn an_entry_without_stream_support_is_refused_with_the_reason() {
        let inst = inst(json!([
            {"linnworksLocation": {"id": COVENTRY}, "depot": "YORK"},
            {"linnworksLocation": {"id": LEEDS}, "depot": "LEEDS", "deliveryMethod": "NOPE"},
        ]));
        let home = mapping(&inst, "HOME-2MAN");
        for (id, wanted) in [
            (COVENTRY, "depot \"YORK\" is not a Stream depot"),
            (LEEDS, "no delivery method \"NOPE\""),
        ] {
            let chosen = choose(&inst, Uuid::parse_str(id).ok(), None);
            let m = effective_mapping(&home, &chosen, &depots());
            let e = check_entry(&chosen, &m, &depots())
                .expect_err("refused")
                .to_string();
            assert!(
                e.starts_with("Postal service not fully configured") && e.contains(wanted),
                "{e}"
            );
        }
        // Before depots are synced nothing can be checked.
        let chosen = choose(&inst, Uuid::parse_str(COVENTRY).ok(), None);
        assert_eq!(
            check_entry(&chosen, &effective_mapping(&home, &chosen, &[]), &[]),
            Ok(())
        );
        assert_eq!(
            unmatched_entries(&inst.spec.locations, &depots()),
            [
                format!("spec.locations[0] ({COVENTRY}): depot \"YORK\" is not a Stream depot"),
                format!(
                    "spec.locations[1] ({LEEDS}): depot \"LEEDS\" has no delivery method \"NOPE\""
                ),
            ]
        );
    }

    #[test]
    fn the_default_location_overrides_the_orders_location() {
        let mut inst = inst(json!([
            {"linnworksLocation": {"id": COVENTRY}, "depot": "COVENTRY", "stockLocation": "COV"},
        ]));
        inst.spec.sync.use_default_location = true;
        inst.spec.sync.default_location = Some("Coventry Warehouse".into());
        let leeds = Uuid::parse_str(LEEDS).ok();
        // The default, named, is Coventry's entry: every order ships from there.
        let chosen = choose(&inst, leeds, Some(&known()));
        assert!(
            matches!(chosen, Chosen::Entry { index: 0, .. }),
            "{chosen:?}"
        );
        // A default that names no entry is the items' stock location, as before locations.
        inst.spec.sync.default_location = Some("WH-9".into());
        let chosen = choose(&inst, leeds, Some(&known()));
        assert_eq!(chosen, Chosen::DefaultStockLocation("WH-9".into()));
        let home = mapping(&inst, "HOME-2MAN");
        let m = effective_mapping(&home, &chosen, &depots());
        assert_eq!(
            (m.spec.depot.as_str(), m.spec.stock_location.as_deref()),
            ("LEEDS", Some("WH-9"))
        );
    }
}
