//! Linnworks order -> Stream delivery or collection request. Pure: the same order and
//! settings always give the same request, so it is tested on many orders without I/O.

use chrono::{NaiveDate, TimeZone, Utc};

use crate::config::{InstallationConfig, MappingConfig};
use crate::crd::OrderType as MappingOrderType;
use crate::linnworks::{CustomerAddress, OrderDetails, OrderItem as LwItem};
use crate::stream::{
    Address, Contact, CreateOrderRequest, Customer, OrderGroup, OrderHeader, OrderItem, OrderType,
    Partner, Required, ServiceCode,
};

/// Stream refuses item descriptions longer than this.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// Cuts text to `max` characters on a character boundary (never inside a UTF-8 sequence).
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// The order number sent to Stream: the installation's prefix and the Linnworks number.
pub fn stream_order_no(inst: &InstallationConfig, order: &OrderDetails) -> String {
    let prefix = inst
        .spec
        .sync
        .order_num_prefix
        .as_deref()
        .unwrap_or_default();
    format!("{prefix}{}", order.num_order_id)
}

pub fn transform(
    inst: &InstallationConfig,
    mapping: &MappingConfig,
    order: &OrderDetails,
    today: NaiveDate,
) -> CreateOrderRequest {
    let spec = &inst.spec;
    let m = &mapping.spec;
    let address = stream_address(
        &order.customer_info.address,
        order.customer_info.channel_buyer_name.as_deref(),
    );
    let contact = stream_contact(&order.customer_info.address, &address.name);
    let order_type = match m.order_type {
        MappingOrderType::Delivery => OrderType::Delivery,
        MappingOrderType::Collection => OrderType::Collection,
    };
    let partner = spec
        .stream
        .partner_account
        .as_ref()
        .filter(|p| p.enabled)
        .and_then(|p| {
            Some(Partner {
                id: p.id.clone().filter(|id| !id.is_empty())?,
                name: p.name.clone().unwrap_or_default(),
            })
        });
    let order_date = order
        .general_info
        .received_date
        .map(|d| d.date_naive())
        .unwrap_or(today);
    let header = OrderHeader {
        order_no: stream_order_no(inst, order),
        order_date,
        partner,
        order_type,
        service_level: m.service_level.clone().filter(|s| !s.is_empty()),
        services: m
            .service
            .iter()
            .filter(|s| !s.is_empty())
            .map(|code| ServiceCode { code: code.clone() })
            .collect(),
        customer: Customer {
            name: address.name.clone(),
            address: address.clone(),
            contact: contact.clone(),
        },
        customer_order_no: order
            .general_info
            .reference_num
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| Some(order.num_order_id.to_string())),
        order_notes: None,
        driver_notes: None,
    };
    // The hands-on date: the goods are ready from the start of today.
    let required = spec
        .sync
        .use_current_date_as_hands_on_date
        .then(|| Required {
            from_date_time: today
                .and_hms_opt(0, 0, 0)
                .map(|t| Utc.from_utc_datetime(&t)),
            to_date_time: None,
        });
    // Already the warehouse mapping's, or the DefaultLocation's (see `sync::locations`).
    let stock_location = m.stock_location.clone();
    let package_type = order
        .shipping_info
        .package_type
        .clone()
        .filter(|p| !p.is_empty());
    let mut items = Vec::new();
    for item in &order.items {
        push_item(&mut items, item, None, m.skip_composite_parent);
    }
    for item in &mut items {
        item.stock_location = stock_location.clone();
        item.package_type = package_type.clone();
        // One package for the whole order, unless the service overrides the packaging
        // split, which sends each line as its own package.
        item.package_id = Some(if m.override_packaging_split {
            format!("P{}", item.sequence)
        } else {
            "P1".to_string()
        });
    }
    CreateOrderRequest::new(
        header,
        OrderGroup {
            address,
            contact,
            required,
            method: m.delivery_method.clone(),
            items,
        },
    )
}

fn push_item(out: &mut Vec<OrderItem>, item: &LwItem, parent: Option<u32>, skip_parent: bool) {
    if item.is_service {
        return;
    }
    let has_children = !item.composite_sub_items.is_empty();
    let own_sequence = if has_children && skip_parent {
        // The parent is a bundle of its children: send only the children.
        parent
    } else {
        let sequence = u32::try_from(out.len() + 1).unwrap_or(u32::MAX);
        out.push(stream_item(item, sequence, parent));
        Some(sequence)
    };
    for child in &item.composite_sub_items {
        push_item(out, child, own_sequence, skip_parent);
    }
}

fn stream_item(item: &LwItem, sequence: u32, parent: Option<u32>) -> OrderItem {
    let quantity = u32::try_from(item.quantity.max(1)).unwrap_or(1);
    let code = [&item.sku, &item.item_number]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("LINE{sequence}"));
    let title = item
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| code.clone());
    OrderItem {
        sequence,
        parent_sequence: parent,
        code,
        description: truncate_chars(title.trim(), MAX_DESCRIPTION_CHARS),
        quantity,
        // Linnworks gives the unit weight in kilograms; Stream takes the line's weight.
        weight: round3(item.weight.max(0.0) * f64::from(quantity)),
        // Cubic metres; order lines carry no dimensions in Linnworks' order model.
        cube: 0.0,
        stock_location: None,
        package_id: None,
        package_type: None,
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Address lines go to address1-3, the town to address4 and the region to address5 (Stream
/// has no separate town field; *inferred* from the reference's address1..5).
fn stream_address(a: &CustomerAddress, buyer: Option<&str>) -> Address {
    let name = clean(&a.full_name)
        .or_else(|| clean(&a.company))
        .or_else(|| {
            buyer
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Customer".to_string());
    Address {
        name,
        address1: clean(&a.address1).unwrap_or_default(),
        address2: clean(&a.address2),
        address3: clean(&a.address3),
        address4: clean(&a.town),
        address5: clean(&a.region),
        country: a
            .country
            .as_deref()
            .and_then(country_code)
            .unwrap_or_default()
            .to_string(),
        postcode: clean(&a.post_code).unwrap_or_default().to_uppercase(),
    }
}

fn stream_contact(a: &CustomerAddress, name: &str) -> Contact {
    Contact {
        name: name.to_string(),
        tel1: clean(&a.phone_number),
        mobile: None,
        email: clean(&a.email_address),
    }
}

/// ISO 3166-1 alpha-2 code for a Linnworks country name (or a code given as such).
pub fn country_code(country: &str) -> Option<&'static str> {
    const COUNTRIES: &[(&str, &str)] = &[
        ("GB", "United Kingdom"),
        ("GB", "Great Britain"),
        ("GB", "UK"),
        ("GB", "England"),
        ("GB", "Scotland"),
        ("GB", "Wales"),
        ("GB", "Northern Ireland"),
        ("IE", "Ireland"),
        ("US", "United States"),
        ("US", "USA"),
        ("CA", "Canada"),
        ("AU", "Australia"),
        ("NZ", "New Zealand"),
        ("FR", "France"),
        ("DE", "Germany"),
        ("NL", "Netherlands"),
        ("BE", "Belgium"),
        ("LU", "Luxembourg"),
        ("ES", "Spain"),
        ("PT", "Portugal"),
        ("IT", "Italy"),
        ("AT", "Austria"),
        ("CH", "Switzerland"),
        ("DK", "Denmark"),
        ("SE", "Sweden"),
        ("NO", "Norway"),
        ("FI", "Finland"),
        ("PL", "Poland"),
        ("CZ", "Czech Republic"),
        ("GR", "Greece"),
        ("JE", "Jersey"),
        ("GG", "Guernsey"),
        ("IM", "Isle of Man"),
    ];
    let wanted = country.trim();
    if wanted.len() == 2 {
        return COUNTRIES
            .iter()
            .map(|(code, _)| *code)
            .find(|code| code.eq_ignore_ascii_case(wanted));
    }
    COUNTRIES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(wanted))
        .map(|(code, _)| *code)
}
