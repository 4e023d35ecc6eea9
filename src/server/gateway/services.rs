//! The installation's PostalServiceMappings as the contract's services
//! (UserAvailableServices), and the way back from a `ServiceId` to a mapping.

use uuid::Uuid;

use crate::config::{InstallationConfig, MappingConfig};

use super::contract::{CourierService, ServiceProperty};

/// The `ServiceUniqueId` of a mapping: the Linnworks postal service id when the mapping
/// names one, else a stable id derived from the installation and the mapping's name, so
/// Linnworks keeps the same id across restarts and replicas.
pub fn service_id(inst: &InstallationConfig, mapping: &MappingConfig) -> Uuid {
    if let Some(id) = mapping
        .spec
        .postal_service
        .id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        return id;
    }
    let seed = format!("linnstream/{}/{}", inst.key.id(), mapping.name);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv1a(seed.as_bytes(), 0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&fnv1a(seed.as_bytes(), 0x8422_2325_cbf2_9ce4).to_be_bytes());
    // Marked as a v4-shaped id: it is opaque to Linnworks either way.
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// FNV-1a, 64 bits, from `basis`: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(data: &[u8], basis: u64) -> u64 {
    data.iter().fold(basis, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The mapping Linnworks means by `ServiceId`, if any.
pub fn mapping_by_service_id(inst: &InstallationConfig, id: Uuid) -> Option<&MappingConfig> {
    inst.mappings.iter().find(|m| service_id(inst, m) == id)
}

/// The postal service name a mapping stands for.
pub fn service_name(mapping: &MappingConfig) -> String {
    mapping
        .spec
        .postal_service
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| mapping.name.clone())
}

/// One mapping as a contract service. Services carry no config items: every setting lives
/// on the PostalServiceMapping resource, shown read-only as service properties.
pub fn courier_service(inst: &InstallationConfig, mapping: &MappingConfig) -> CourierService {
    let s = &mapping.spec;
    let mut properties = vec![
        ("Depot", s.depot.clone()),
        ("DeliveryMethod", s.delivery_method.clone()),
        ("OrderType", s.order_type.label().to_string()),
        ("LabelType", s.label_type.name().to_string()),
        ("LabelCopies", s.label_copies.to_string()),
    ];
    if let Some(service) = &s.service {
        properties.push(("StreamService", service.clone()));
    }
    if let Some(level) = &s.service_level {
        properties.push(("StreamServiceLevel", level.clone()));
    }
    CourierService {
        service_name: service_name(mapping),
        service_code: s
            .service
            .clone()
            .unwrap_or_else(|| s.delivery_method.clone()),
        service_tag: mapping.name.clone(),
        service_group: format!("Stream {}", s.order_type.label()),
        service_unique_id: service_id(inst, mapping),
        config_items: Vec::new(),
        service_property: properties
            .into_iter()
            .map(|(name, value)| ServiceProperty {
                property_name: name.to_string(),
                property_value: value,
            })
            .collect(),
    }
}
