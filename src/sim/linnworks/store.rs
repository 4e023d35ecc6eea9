//! The simulated account's state in memory: orders, identifiers, postal services and
//! sessions, with the operations the API and admin handlers share.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use super::ApiError;
use super::model::*;

#[derive(Default)]
pub struct Store {
    pub orders: BTreeMap<Uuid, SimOrder>,
    pub identifiers: Vec<SimIdentifier>,
    pub postal_services: Vec<SimPostalService>,
    /// Locations (warehouses), id and name; the account's Default location (the empty
    /// GUID) is always there.
    pub locations: Vec<(Uuid, String)>,
    /// Session token -> last use; a session unused for the TTL is gone.
    sessions: HashMap<String, Instant>,
    next_num: i64,
    next_identifier: i64,
}

impl Store {
    pub fn new() -> Self {
        let mut s = Self {
            next_num: 100_000,
            ..Self::default()
        };
        s.locations.push((Uuid::nil(), "Default".into()));
        // Linnworks ships system identifiers; two stand in for them.
        for (tag, name) in [("AMAZON_PRIME", "Prime"), ("SCHEDULED", "Scheduled")] {
            s.next_identifier += 1;
            s.identifiers.push(SimIdentifier {
                id: s.next_identifier,
                is_custom: false,
                image_url: String::new(),
                tag: tag.into(),
                name: name.into(),
            });
        }
        s
    }

    pub fn start_session(&mut self) -> String {
        let token = Uuid::new_v4().to_string();
        self.sessions.insert(token.clone(), Instant::now());
        token
    }

    /// True when `token` is a live session; using it keeps it alive (20 minutes idle).
    pub fn touch_session(&mut self, token: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        self.sessions
            .retain(|_, last| now.duration_since(*last) < ttl);
        match self.sessions.get_mut(token) {
            Some(last) => {
                *last = now;
                true
            }
            None => false,
        }
    }

    pub fn expire_sessions(&mut self) -> usize {
        let n = self.sessions.len();
        self.sessions.clear();
        n
    }

    pub fn order_mut(&mut self, id: Uuid) -> Result<&mut SimOrder, ApiError> {
        self.orders
            .get_mut(&id)
            .ok_or_else(|| ApiError::bad_request(format!("Order with id {id} was not found")))
    }

    pub fn check_orders_exist(&self, ids: &[Uuid], field: &str) -> Result<(), ApiError> {
        match ids.iter().find(|id| !self.orders.contains_key(id)) {
            Some(id) => Err(ApiError::bad_request(format!(
                "{field}: order {id} was not found"
            ))),
            None => Ok(()),
        }
    }

    /// Finds an order by its GUID or its NumOrderId.
    pub fn find_order(&self, key: &str) -> Option<&SimOrder> {
        if let Ok(id) = Uuid::parse_str(key) {
            return self.orders.get(&id);
        }
        let num: i64 = key.parse().ok()?;
        self.orders.values().find(|o| o.num_order_id == num)
    }

    pub fn postal_service(&self, id: Uuid) -> Option<&SimPostalService> {
        self.postal_services.iter().find(|s| s.id == id)
    }

    pub fn add_postal_service(
        &mut self,
        new: NewPostalService,
    ) -> Result<SimPostalService, ApiError> {
        let name = new.name.trim().to_string();
        if name.is_empty() {
            return Err(ApiError::bad_request("PostalServiceName is required"));
        }
        if self
            .postal_services
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::bad_request(format!(
                "A postal service named '{name}' already exists"
            )));
        }
        let id = new.id.unwrap_or_else(Uuid::new_v4);
        if self.postal_service(id).is_some() {
            return Err(ApiError::bad_request(format!(
                "Postal service {id} already exists"
            )));
        }
        let service = SimPostalService {
            id,
            name,
            vendor: new.vendor.unwrap_or_default(),
            tag: new.tag.unwrap_or_default(),
            code: new.code.unwrap_or_default(),
            country: new.country.unwrap_or_default(),
            tracking_number_required: false,
            weight_required: false,
        };
        self.postal_services.push(service.clone());
        Ok(service)
    }

    pub fn identifier_by_tag(&self, tag: &str) -> Option<&SimIdentifier> {
        self.identifiers
            .iter()
            .find(|i| i.tag.eq_ignore_ascii_case(tag))
    }

    /// Create or update, matched by id when given, else by tag (*inferred*: Linnworks
    /// documents only "create or update").
    pub fn save_identifier(
        &mut self,
        id: Option<i64>,
        tag: String,
        name: String,
        image_url: String,
    ) -> Result<SimIdentifier, ApiError> {
        let existing = match id.filter(|i| *i > 0) {
            Some(id) => Some(
                self.identifiers
                    .iter()
                    .position(|i| i.id == id)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("Identifier {id} was not found"))
                    })?,
            ),
            None => self
                .identifiers
                .iter()
                .position(|i| i.tag.eq_ignore_ascii_case(&tag)),
        };
        match existing {
            Some(pos) => {
                let ident = &mut self.identifiers[pos];
                let old_tag = std::mem::replace(&mut ident.tag, tag.clone());
                ident.name = name;
                if !image_url.is_empty() {
                    ident.image_url = image_url;
                }
                let updated = ident.clone();
                if old_tag != tag {
                    for order in self.orders.values_mut() {
                        for t in order.identifiers.iter_mut().filter(|t| **t == old_tag) {
                            *t = tag.clone();
                        }
                    }
                }
                Ok(updated)
            }
            None => {
                self.next_identifier += 1;
                let ident = SimIdentifier {
                    id: self.next_identifier,
                    is_custom: true,
                    image_url,
                    tag,
                    name,
                };
                self.identifiers.push(ident.clone());
                Ok(ident)
            }
        }
    }

    pub fn add_order(&mut self, new: NewOrder, default_location: Uuid) -> Result<Uuid, ApiError> {
        let bad = |m: String| ApiError::bad_request(m);
        let order_id = new.order_id.unwrap_or_else(Uuid::new_v4);
        if self.orders.contains_key(&order_id) {
            return Err(bad(format!("orderId: order {order_id} already exists")));
        }
        let num_order_id = match new.num_order_id {
            Some(n) if self.orders.values().any(|o| o.num_order_id == n) => {
                return Err(bad(format!("numOrderId: {n} is already used")));
            }
            Some(n) => n,
            None => {
                self.next_num += 1;
                while self
                    .orders
                    .values()
                    .any(|o| o.num_order_id == self.next_num)
                {
                    self.next_num += 1;
                }
                self.next_num
            }
        };
        let service = match (new.postal_service_id, &new.postal_service_name) {
            (Some(id), _) => Some(
                self.postal_service(id)
                    .cloned()
                    .ok_or_else(|| bad(format!("postalServiceId: no postal service {id}")))?,
            ),
            (None, Some(name)) => self
                .postal_services
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .cloned(),
            (None, None) => None,
        };
        for tag in &new.identifiers {
            if self.identifier_by_tag(tag).is_none() {
                return Err(bad(format!("identifiers: no identifier with tag '{tag}'")));
            }
        }
        let items: Vec<NewItem> = new
            .items
            .clone()
            .unwrap_or_else(|| vec![NewItem::default()]);
        for (i, item) in items.iter().enumerate() {
            item.validate(&format!("items[{i}]")).map_err(bad)?;
        }
        let items: Vec<SimItem> = items
            .iter()
            .enumerate()
            .map(|(i, it)| it.build(i))
            .collect();
        let packaging_bins = packaging_bins(&new.packaging_split, &items).map_err(bad)?;
        let item_weight: f64 = items.iter().map(|i| i.weight * i.quantity as f64).sum();
        let now = Utc::now();
        let received = match (new.received_date, new.received_days_ago) {
            (Some(d), _) => d,
            (None, Some(days)) => now - chrono::Duration::days(days),
            (None, None) => now,
        };
        let address = new.customer.clone().unwrap_or_else(default_address);
        let order = SimOrder {
            order_id,
            num_order_id,
            processed: new.processed,
            processed_at: new.processed.then_some(now),
            status: new.status.unwrap_or(1),
            reference: new
                .reference
                .clone()
                .unwrap_or_else(|| format!("SIM-{num_order_id}")),
            secondary_reference: new.secondary_reference.clone().unwrap_or_default(),
            external_reference: new.external_reference.clone().unwrap_or_default(),
            received,
            source: new.source.clone().unwrap_or_else(|| "DIRECT".into()),
            sub_source: new.sub_source.clone().unwrap_or_default(),
            despatch_by: new.despatch_by_date,
            location: new.location.unwrap_or(default_location),
            hold_or_cancel: false,
            is_parked: false,
            identifiers: new.identifiers.clone(),
            vendor: new
                .vendor
                .clone()
                .or_else(|| service.as_ref().map(|s| s.vendor.clone()))
                .unwrap_or_default(),
            postal_service_id: service.as_ref().map(|s| s.id),
            postal_service_name: service
                .as_ref()
                .map(|s| s.name.clone())
                .or_else(|| new.postal_service_name.clone())
                .unwrap_or_default(),
            total_weight: new.total_weight.unwrap_or(item_weight),
            item_weight,
            postage_cost: new.postage_cost.unwrap_or(0.0),
            tracking_number: new.tracking_number.clone().unwrap_or_default(),
            manual_adjust: false,
            channel_buyer_name: new
                .channel_buyer_name
                .clone()
                .unwrap_or_else(|| address.full_name.clone()),
            billing_address: new
                .billing_address
                .clone()
                .unwrap_or_else(|| address.clone()),
            address,
            currency: new.currency.clone().unwrap_or_else(|| "GBP".into()),
            items,
            packaging_bins,
            extended_properties: new
                .extended_properties
                .iter()
                .map(|p| SimProperty {
                    row_id: Uuid::new_v4(),
                    name: p.name.clone(),
                    value: p.value.clone(),
                    kind: p.r#type.clone().unwrap_or_else(|| "Info".into()),
                })
                .collect(),
            notes: new
                .notes
                .iter()
                .map(|text| SimNote {
                    id: Uuid::new_v4(),
                    at: now,
                    text: text.clone(),
                    internal: false,
                    created_by: "Simulator".into(),
                })
                .collect(),
        };
        self.orders.insert(order_id, order);
        Ok(order_id)
    }
}

/// A posted packaging split, its items found by SKU among the order's items and composite
/// children (the rows Linnworks packs).
fn packaging_bins(
    bins: &[super::model::NewBin],
    items: &[SimItem],
) -> Result<Vec<Vec<(Uuid, i64)>>, String> {
    fn find<'a>(items: &'a [SimItem], sku: &str) -> Option<&'a SimItem> {
        items.iter().find_map(|i| {
            if i.sku == sku {
                Some(i)
            } else {
                find(&i.composite_sub_items, sku)
            }
        })
    }
    bins.iter()
        .enumerate()
        .map(|(b, bin)| {
            bin.items
                .iter()
                .enumerate()
                .map(|(n, it)| {
                    let at = format!("packagingSplit[{b}].items[{n}]");
                    if it.quantity < 1 {
                        return Err(format!("{at}.quantity: must be at least 1"));
                    }
                    find(items, &it.sku)
                        .map(|i| (i.row_id, it.quantity))
                        .ok_or_else(|| format!("{at}.sku: the order has no item {:?}", it.sku))
                })
                .collect()
        })
        .collect()
}
