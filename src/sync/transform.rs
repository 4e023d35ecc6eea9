//! Linnworks order -> Stream delivery or collection request. Pure: the same order and
//! settings always give the same request, so it is tested on many orders without I/O.

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::config::{InstallationConfig, MappingConfig};
use crate::linnworks::{CalcOrderHeader, CustomerAddress, OrderDetails, OrderItem as LwItem};
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

/// Builds Stream's create body. `packaging` is the order's packaging as Linnworks has it
/// (`Orders/GetOrderPackagingCalculation`), when it could be read: its bins are the packages
/// unless the mapping overrides the packaging split, and its item dimensions stand in for
/// items without boxes.
pub fn transform(
    inst: &InstallationConfig,
    mapping: &MappingConfig,
    order: &OrderDetails,
    packaging: Option<&CalcOrderHeader>,
    today: NaiveDate,
) -> CreateOrderRequest {
    let spec = &inst.spec;
    let m = &mapping.spec;
    let address = stream_address(
        &order.customer_info.address,
        order.customer_info.channel_buyer_name.as_deref(),
    );
    let contact = stream_contact(&order.customer_info.address, &address.name);
    let order_type = OrderType::from(m.order_type);
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
    // Both public clients always send the required window; the service has no delivery
    // window to give, so both ends are Stream's "unset" ("0"). Leaving `required` out draws
    // Stream's "required is missing" warning on every order.
    let required = Some(Required::default());
    // Already the warehouse mapping's, or the DefaultLocation's (see `sync::locations`).
    let stock_location = m.stock_location.clone();
    let package_type = order
        .shipping_info
        .package_type
        .clone()
        .filter(|p| !p.is_empty());
    // The hands-on date: the goods are ready at the depot from today (item-level, as the
    // public clients send it).
    let on_hand_date = spec.sync.use_current_date_as_hands_on_date.then_some(today);
    let dims: HashMap<Uuid, f64> = packaging
        .map(|p| {
            p.items
                .iter()
                .filter_map(|i| Some((i.order_item_id?, i.height * i.width * i.depth)))
                .filter(|(_, v)| v.is_finite() && *v > 0.0)
                .collect()
        })
        .unwrap_or_default();
    let mut lines = Vec::new();
    for item in &order.items {
        push_line(&mut lines, item, None, m.skip_composite_parent, &dims);
    }
    let bins = if m.override_packaging_split {
        None
    } else {
        packaging
            .map(bins_by_row)
            .filter(|b: &HashMap<Uuid, Vec<(usize, u32)>>| !b.is_empty())
    };
    let mut items = Vec::new();
    // The sequence each line's first piece got, for its children's parentSequence.
    let mut first_sequence: Vec<u32> = Vec::with_capacity(lines.len());
    for line in &lines {
        let pieces = match (&bins, line.row_id) {
            (Some(bins), Some(row)) => split_by_bins(bins.get(&row), line.quantity),
            _ => vec![(None, line.quantity)],
        };
        let parent = line.parent.and_then(|p| first_sequence.get(p).copied());
        let mut first = None;
        for (bin, quantity) in pieces {
            let sequence = u32::try_from(items.len() + 1).unwrap_or(u32::MAX);
            first.get_or_insert(sequence);
            let package_id = if m.override_packaging_split {
                // Each line its own package.
                format!("P{sequence}")
            } else {
                format!("P{}", bin.map_or(1, |b| b + 1))
            };
            let share = f64::from(quantity) / f64::from(line.quantity.max(1));
            items.push(OrderItem {
                sequence,
                parent_sequence: parent,
                code: line.code.clone(),
                description: line.description.clone(),
                quantity,
                weight: round3(line.weight * share),
                cube: round6(line.cube * share),
                stock_location: stock_location.clone(),
                on_hand_date,
                package_id: Some(package_id),
                package_type: package_type.clone(),
            });
        }
        first_sequence.push(first.unwrap_or(0));
    }
    // A kept composite parent has no bin of its own (Linnworks packs only the children):
    // it travels in its first child's package.
    if let Some(bins) = &bins {
        for (i, line) in lines.iter().enumerate() {
            if line.row_id.is_some_and(|r| bins.contains_key(&r)) {
                continue;
            }
            let child_package = lines
                .iter()
                .position(|l| l.parent == Some(i))
                .and_then(|c| first_sequence.get(c))
                .and_then(|s| items.iter().find(|it| it.sequence == *s))
                .and_then(|it| it.package_id.clone());
            let own = first_sequence.get(i).copied();
            if let (Some(package), Some(own)) = (child_package, own)
                && let Some(item) = items.iter_mut().find(|it| it.sequence == own)
            {
                item.package_id = Some(package);
            }
        }
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

/// One order line as Stream gets it, before packaging splits it.
struct Line {
    row_id: Option<Uuid>,
    /// Index of the parent line (a kept composite parent).
    parent: Option<usize>,
    code: String,
    description: String,
    quantity: u32,
    /// The line's kilograms and cubic metres (unit x quantity).
    weight: f64,
    cube: f64,
}

/// Composite children come with their quantity for the whole order, as Linnworks reports
/// it (pick lists and stock reservations use the children's rows; an order for two sets of
/// four chairs has a child row of 8 chairs): sent as they are, never multiplied by the
/// parent's quantity.
fn push_line(
    out: &mut Vec<Line>,
    item: &LwItem,
    parent: Option<usize>,
    skip_parent: bool,
    dims: &HashMap<Uuid, f64>,
) {
    if item.is_service {
        return;
    }
    let has_children = !item.composite_sub_items.is_empty();
    let own = if has_children && skip_parent {
        // The parent is a bundle of its children: send only the children.
        parent
    } else {
        out.push(line(item, out.len() + 1, parent, dims));
        Some(out.len() - 1)
    };
    for child in &item.composite_sub_items {
        push_line(out, child, own, skip_parent, dims);
    }
}

fn line(item: &LwItem, n: usize, parent: Option<usize>, dims: &HashMap<Uuid, f64>) -> Line {
    let quantity = u32::try_from(item.quantity.max(1)).unwrap_or(1);
    let code = [&item.sku, &item.item_number]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("LINE{n}"));
    let title = item
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| code.clone());
    Line {
        row_id: item.row_id,
        parent,
        code,
        description: truncate_chars(title.trim(), MAX_DESCRIPTION_CHARS),
        quantity,
        // Linnworks gives the unit weight in kilograms; Stream takes the line's weight.
        weight: item.weight.max(0.0) * f64::from(quantity),
        cube: unit_cube(item, dims) * f64::from(quantity),
    }
}

/// Cubic centimetres in a cubic metre (Linnworks' dimensions are taken as centimetres).
const CM3_PER_M3: f64 = 1_000_000.0;

/// Cubic metres of one unit: the sum of its boxes (a unit may ship in several), else the
/// item's dimensions from Linnworks' packaging calculation, else 0.
fn unit_cube(item: &LwItem, dims: &HashMap<Uuid, f64>) -> f64 {
    let boxes: f64 = item
        .boxes
        .iter()
        .filter(|b| !b.logical_delete)
        .map(|b| b.width.max(0.0) * b.height.max(0.0) * b.length.max(0.0))
        .filter(|v| v.is_finite())
        .sum();
    let cm3 = if boxes > 0.0 {
        boxes
    } else {
        item.row_id
            .and_then(|r| dims.get(&r).copied())
            .unwrap_or(0.0)
    };
    cm3 / CM3_PER_M3
}

/// Order item row -> the bins (by position) holding it and how many each holds.
fn bins_by_row(packaging: &CalcOrderHeader) -> HashMap<Uuid, Vec<(usize, u32)>> {
    let mut rows: HashMap<Uuid, Vec<(usize, u32)>> = HashMap::new();
    for (b, bin) in packaging.bins.iter().enumerate() {
        for item in &bin.items {
            let quantity = u32::try_from(item.quantity).unwrap_or(0);
            if let (Some(row), true) = (item.order_item_id, quantity > 0) {
                rows.entry(row).or_default().push((b, quantity));
            }
        }
    }
    rows
}

/// A line's pieces, one per bin it is packed in. Units the bins do not account for go in
/// the first package, so Stream always gets the whole quantity.
fn split_by_bins(bins: Option<&Vec<(usize, u32)>>, quantity: u32) -> Vec<(Option<usize>, u32)> {
    let Some(bins) = bins.filter(|b| !b.is_empty()) else {
        return vec![(None, quantity)];
    };
    let mut left = quantity;
    let mut pieces = Vec::new();
    for &(bin, n) in bins {
        let take = n.min(left);
        if take > 0 {
            pieces.push((Some(bin), take));
            left -= take;
        }
    }
    match pieces.first_mut() {
        Some(first) if left > 0 => first.1 += left,
        None => pieces.push((None, quantity)),
        _ => {}
    }
    pieces
}

fn round6(v: f64) -> f64 {
    (v * 1_000_000.0).round() / 1_000_000.0
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

pub use super::country::country_code;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linnworks::StockItemBox;

    #[test]
    fn a_line_is_split_by_the_bins_holding_it() {
        let bins = vec![(0, 4), (2, 4)];
        assert_eq!(split_by_bins(Some(&bins), 8), [(Some(0), 4), (Some(2), 4)]);
        // Units no bin accounts for stay with the first piece; bins never add units.
        assert_eq!(split_by_bins(Some(&bins), 10), [(Some(0), 6), (Some(2), 4)]);
        assert_eq!(split_by_bins(Some(&bins), 3), [(Some(0), 3)]);
        assert_eq!(split_by_bins(None, 5), [(None, 5)]);
        assert_eq!(split_by_bins(Some(&Vec::new()), 5), [(None, 5)]);
    }

    #[test]
    fn unit_volume_is_the_sum_of_live_boxes_in_cubic_metres() {
        let b = |w: f64, h: f64, l: f64, deleted: bool| StockItemBox {
            width: w,
            height: h,
            length: l,
            logical_delete: deleted,
            ..StockItemBox::default()
        };
        let row = Uuid::from_u128(7);
        let item = LwItem {
            row_id: Some(row),
            boxes: vec![
                b(30.0, 40.0, 30.0, false),
                b(20.0, 60.0, 20.0, false),
                b(99.0, 99.0, 99.0, true),
            ],
            ..LwItem::default()
        };
        let dims = HashMap::from([(row, 1_000_000.0)]);
        assert!((unit_cube(&item, &dims) - 0.06).abs() < 1e-12);
        // Without boxes, the packaging calculation's dimensions; else nothing.
        let bare = LwItem {
            row_id: Some(row),
            ..LwItem::default()
        };
        assert!((unit_cube(&bare, &dims) - 1.0).abs() < 1e-12);
        assert_eq!(unit_cube(&bare, &HashMap::new()), 0.0);
    }
}
