//! Linnworks request and reply types: only the fields the integration uses, with exactly
//! the names and casing of Linnworks' OpenAPI files (auth.json, orders.json,
//! openorders.json, postalservices.json; locations from inventory.json). Replies tolerate unknown fields and nulls.

mod auth;
mod filters;
mod identifiers;
mod locations;
mod orders;
mod postal_services;

pub use auth::{AuthorizeByApplicationRequest, BaseSession, StatusDetails};
pub use filters::{
    DateFieldFilter, DateFilterType, FieldCode, FieldSorting, FieldsFilter, SortDirection,
    TextFieldFilter, TextFilterType,
};
pub use identifiers::{
    AssignResult, ChangeOrderIdentifierRequest, Identifier, SaveIdentifiersRequest,
};
pub use locations::StockLocation;
pub use orders::{
    AddExtendedPropertiesRequest, AddExtendedPropertiesResponse, AddOrdersNoteRequest,
    AddOrdersNoteResponse, BasicExtendedProperty, CalcBin, CalcBinItem, CalcOrderHeader,
    CalcOrderItem, ClientContext, CustomerAddress, ExtendedProperty, GetOpenOrdersRequest,
    GetOrderPackagingCalculationRequest, OpenOrder, OpenOrdersPage, OrderCustomerInfo,
    OrderDetails, OrderGeneralInfo, OrderItem, OrderNote, OrderShippingInfo, OrderTotalsInfo,
    ProcessOrderResult, StockItemBox, UpdateOrderShippingInfoRequest, UpdateTotalsResult,
};
pub use postal_services::{PostalService, PostalServiceWithLinks};
