//! The master data sets kept per installation.

use super::text_enum::text_enum;

text_enum! {
    /// The master data sets kept per installation.
    MasterDataKind as "master data kind" {
        Depots => "Depots",
        Identifiers => "Identifiers",
        PostalServices => "Postal Services",
    }
}
