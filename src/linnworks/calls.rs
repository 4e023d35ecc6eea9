//! The typed Linnworks calls. Each says whether repeating it is safe, which decides what
//! the shared retry policy may retry.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::client::{LinnworksClient, SERVICE};
use super::model::*;
use crate::remote::{Idempotency, RemoteError};

/// A page of open orders, each order left as JSON.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPage {
    #[serde(default, deserialize_with = "super::serde_util::nullable")]
    total_pages: i32,
    #[serde(default, deserialize_with = "super::serde_util::nullable")]
    data: Vec<Value>,
}

impl LinnworksClient {
    /// One page of open orders (`Orders/GetOpenOrders`).
    pub async fn get_open_orders(
        &self,
        request: &GetOpenOrdersRequest,
    ) -> Result<OpenOrdersPage, RemoteError> {
        if request.entries_per_page < 1 || request.page_number < 1 {
            return Err(RemoteError::request(
                SERVICE,
                "Orders/GetOpenOrders",
                "entriesPerPage and pageNumber start at 1",
            ));
        }
        self.post("Orders/GetOpenOrders", request, Idempotency::Idempotent)
            .await
    }

    /// Every open order matching `filters`, fetched `page_size` at a time
    /// (OrderSyncPageSize). Stops at `TotalPages`, or at a short or empty page. One order
    /// that does not decode fails the call; `get_all_open_order_values` judges them one by one.
    pub async fn get_all_open_orders(
        &self,
        filters: Option<FieldsFilter>,
        fulfilment_center: Option<Uuid>,
        page_size: u32,
    ) -> Result<Vec<OpenOrder>, RemoteError> {
        self.get_all_open_order_values(filters, fulfilment_center, page_size)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v).map_err(|e| {
                    RemoteError::invalid_reply(
                        SERVICE,
                        "Orders/GetOpenOrders",
                        Some(200),
                        format!("unexpected reply: Data[{i}]: {e}"),
                    )
                })
            })
            .collect()
    }

    /// As `get_all_open_orders`, each order left as JSON (unpaired surrogate escapes marked,
    /// see `remote::text`), so the caller can store or refuse each on its own: one order
    /// Linnworks holds with unexpected data must not stop every other from being fetched.
    pub async fn get_all_open_order_values(
        &self,
        filters: Option<FieldsFilter>,
        fulfilment_center: Option<Uuid>,
        page_size: u32,
    ) -> Result<Vec<Value>, RemoteError> {
        let entries_per_page = i32::try_from(page_size.max(1)).unwrap_or(i32::MAX);
        let mut all = Vec::new();
        let mut page_number = 1;
        loop {
            let request = GetOpenOrdersRequest {
                entries_per_page,
                page_number,
                filters: filters.clone(),
                // A stable order, so pages neither skip nor repeat while orders arrive.
                sorting: vec![FieldSorting {
                    field_code: FieldCode::GeneralInfoOrderId,
                    direction: SortDirection::Ascending,
                    order: 0,
                }],
                fulfilment_center,
                additional_filter: None,
            };
            let page: RawPage = self
                .post("Orders/GetOpenOrders", &request, Idempotency::Idempotent)
                .await?;
            let received = page.data.len();
            all.extend(page.data);
            let last_page = page_number >= page.total_pages
                || received == 0
                || received < entries_per_page as usize;
            if last_page {
                return Ok(all);
            }
            page_number += 1;
        }
    }

    /// `Orders/GetOrdersById` with each order left as JSON, for callers that judge each order
    /// on its own (see `get_all_open_order_values`). Unknown ids are left out.
    pub async fn get_order_values_by_id(
        &self,
        order_ids: &[Uuid],
    ) -> Result<Vec<Value>, RemoteError> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "pkOrderIds")]
            pk_order_ids: &'a [Uuid],
        }
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let reply: Option<Vec<Value>> = self
            .post(
                "Orders/GetOrdersById",
                &Body {
                    pk_order_ids: order_ids,
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// Full details of orders (`Orders/GetOrdersById`). Unknown ids are left out.
    pub async fn get_orders_by_id(
        &self,
        order_ids: &[Uuid],
    ) -> Result<Vec<OrderDetails>, RemoteError> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "pkOrderIds")]
            pk_order_ids: &'a [Uuid],
        }
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let reply: Option<Vec<OrderDetails>> = self
            .post(
                "Orders/GetOrdersById",
                &Body {
                    pk_order_ids: order_ids,
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// The orders' packaging as Linnworks has it (`Orders/GetOrderPackagingCalculation`,
    /// neither recalculated nor saved): the split packaging bins and the items' dimensions.
    pub async fn get_order_packaging(
        &self,
        order_ids: &[Uuid],
    ) -> Result<Vec<CalcOrderHeader>, RemoteError> {
        #[derive(Serialize)]
        struct Body {
            request: GetOrderPackagingCalculationRequest,
        }
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let reply: Option<Vec<CalcOrderHeader>> = self
            .post(
                "Orders/GetOrderPackagingCalculation",
                &Body {
                    request: GetOrderPackagingCalculationRequest {
                        pk_order_ids: order_ids.to_vec(),
                        recalculate: false,
                        save_recalculation: false,
                    },
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// Overwrites shipping info, e.g. the tracking number (`Orders/SetOrderShippingInfo`).
    pub async fn set_order_shipping_info(
        &self,
        order_id: Uuid,
        info: &UpdateOrderShippingInfoRequest,
    ) -> Result<UpdateTotalsResult, RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            order_id: Uuid,
            info: &'a UpdateOrderShippingInfoRequest,
        }
        let reply: Option<UpdateTotalsResult> = self
            .post(
                "Orders/SetOrderShippingInfo",
                &Body { order_id, info },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// Overwrites general info (`Orders/SetOrderGeneralInfo`): send back an info read
    /// from GetOrdersById with the fields to change.
    pub async fn set_order_general_info(
        &self,
        order_id: Uuid,
        info: &OrderGeneralInfo,
        was_draft: bool,
    ) -> Result<(), RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            order_id: Uuid,
            info: &'a OrderGeneralInfo,
            was_draft: bool,
        }
        let _: Value = self
            .post(
                "Orders/SetOrderGeneralInfo",
                &Body {
                    order_id,
                    info,
                    was_draft,
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(())
    }

    /// Adds a note to orders (`Orders/AddOrdersNote`). Not repeated on an ambiguous
    /// failure: a repeat would add the note twice.
    pub async fn add_orders_note(
        &self,
        request: &AddOrdersNoteRequest,
    ) -> Result<Vec<OrderNote>, RemoteError> {
        let reply: Option<AddOrdersNoteResponse> = self
            .post("Orders/AddOrdersNote", request, Idempotency::NotIdempotent)
            .await?;
        Ok(reply.map(|r| r.order_notes).unwrap_or_default())
    }

    /// Adds extended properties (`Orders/AddExtendedProperties`); Linnworks skips those
    /// matching an existing name and value, so a repeat adds nothing.
    pub async fn add_extended_properties(
        &self,
        order_id: Uuid,
        properties: Vec<BasicExtendedProperty>,
    ) -> Result<AddExtendedPropertiesResponse, RemoteError> {
        #[derive(Serialize)]
        struct Body {
            request: AddExtendedPropertiesRequest,
        }
        let reply: Option<AddExtendedPropertiesResponse> = self
            .post(
                "Orders/AddExtendedProperties",
                &Body {
                    request: AddExtendedPropertiesRequest {
                        order_id,
                        extended_properties: properties,
                    },
                },
                Idempotency::Idempotent,
            )
            .await?;
        reply.ok_or_else(|| {
            RemoteError::invalid_reply(
                SERVICE,
                "Orders/AddExtendedProperties",
                Some(200),
                "empty reply",
            )
        })
    }

    /// Sets extended properties (`Orders/SetExtendedProperties`): those with a `RowId`
    /// are updated, the others added. Answers the order's properties as stored.
    pub async fn set_extended_properties(
        &self,
        order_id: Uuid,
        properties: &[ExtendedProperty],
    ) -> Result<Vec<ExtendedProperty>, RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            order_id: Uuid,
            extended_properties: &'a [ExtendedProperty],
        }
        let reply: Option<Vec<ExtendedProperty>> = self
            .post(
                "Orders/SetExtendedProperties",
                &Body {
                    order_id,
                    extended_properties: properties,
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// Marks an order processed (`Orders/ProcessOrder`). A reply with `Processed: false`
    /// is returned as is, with its `Error`; the caller decides. Not repeated on an
    /// ambiguous failure (the caller can check `Processed` with GetOrdersById).
    pub async fn process_order(
        &self,
        order_id: Uuid,
        scan_performed: bool,
        location_id: Option<Uuid>,
    ) -> Result<ProcessOrderResult, RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            order_id: Uuid,
            scan_performed: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            location_id: Option<Uuid>,
            context: ClientContext,
        }
        let reply: Option<ProcessOrderResult> = self
            .post(
                "Orders/ProcessOrder",
                &Body {
                    order_id,
                    scan_performed,
                    location_id,
                    context: ClientContext {
                        module: "linnstream".into(),
                    },
                },
                Idempotency::NotIdempotent,
            )
            .await?;
        reply.ok_or_else(|| {
            RemoteError::invalid_reply(SERVICE, "Orders/ProcessOrder", Some(200), "empty reply")
        })
    }

    /// Every identifier of the account (`OpenOrders/GetIdentifiers`).
    pub async fn get_identifiers(&self) -> Result<Vec<Identifier>, RemoteError> {
        let reply: Option<Vec<Identifier>> = self.get("OpenOrders/GetIdentifiers").await?;
        Ok(reply.unwrap_or_default())
    }

    /// Creates or updates an identifier (`OpenOrders/SaveIdentifier`).
    pub async fn save_identifier(
        &self,
        identifier: &Identifier,
    ) -> Result<Identifier, RemoteError> {
        if identifier.tag.trim().is_empty() {
            return Err(RemoteError::request(
                SERVICE,
                "OpenOrders/SaveIdentifier",
                "the identifier Tag is empty",
            ));
        }
        let reply: Option<Identifier> = self
            .post(
                "OpenOrders/SaveIdentifier",
                &SaveIdentifiersRequest { identifier },
                Idempotency::Idempotent,
            )
            .await?;
        reply.ok_or_else(|| {
            RemoteError::invalid_reply(
                SERVICE,
                "OpenOrders/SaveIdentifier",
                Some(200),
                "empty reply",
            )
        })
    }

    /// Tags orders with an identifier (`OpenOrders/AssignOrderIdentifier`).
    pub async fn assign_order_identifier(
        &self,
        order_ids: &[Uuid],
        tag: &str,
    ) -> Result<AssignResult, RemoteError> {
        self.change_identifier("OpenOrders/AssignOrderIdentifier", order_ids, tag)
            .await
    }

    /// Removes an identifier from orders (`OpenOrders/UnassignOrderIdentifier`).
    pub async fn unassign_order_identifier(
        &self,
        order_ids: &[Uuid],
        tag: &str,
    ) -> Result<AssignResult, RemoteError> {
        self.change_identifier("OpenOrders/UnassignOrderIdentifier", order_ids, tag)
            .await
    }

    async fn change_identifier(
        &self,
        call: &'static str,
        order_ids: &[Uuid],
        tag: &str,
    ) -> Result<AssignResult, RemoteError> {
        if order_ids.is_empty() {
            return Ok(AssignResult::default());
        }
        let reply: Option<AssignResult> = self
            .post(
                call,
                &ChangeOrderIdentifierRequest { order_ids, tag },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(reply.unwrap_or_default())
    }

    /// The account's locations (`Inventory/GetStockLocations`, a GET without parameters,
    /// 150 a minute): matches warehouse-mapping entries given by name.
    pub async fn get_stock_locations(&self) -> Result<Vec<StockLocation>, RemoteError> {
        let reply: Option<Vec<StockLocation>> = self.get("Inventory/GetStockLocations").await?;
        Ok(reply.unwrap_or_default())
    }

    /// Every postal service of the account (`PostalServices/GetPostalServices`).
    pub async fn get_postal_services(&self) -> Result<Vec<PostalServiceWithLinks>, RemoteError> {
        let reply: Option<Vec<PostalServiceWithLinks>> =
            self.get("PostalServices/GetPostalServices").await?;
        Ok(reply.unwrap_or_default())
    }

    /// Creates a postal service (`PostalServices/CreatePostalService`). Not repeated on
    /// an ambiguous failure: a repeat would create a duplicate.
    pub async fn create_postal_service(
        &self,
        service: &PostalService,
    ) -> Result<PostalService, RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body {
            postal_service_details: PostalServiceWithLinks,
        }
        let reply: Option<PostalService> = self
            .post(
                "PostalServices/CreatePostalService",
                &Body {
                    postal_service_details: PostalServiceWithLinks {
                        id: None,
                        has_mapped_shipping_service: false,
                        service: service.clone(),
                    },
                },
                Idempotency::NotIdempotent,
            )
            .await?;
        reply.ok_or_else(|| {
            RemoteError::invalid_reply(
                SERVICE,
                "PostalServices/CreatePostalService",
                Some(200),
                "empty reply",
            )
        })
    }

    /// Updates a postal service by its `pkPostalServiceId` (`PostalServices/UpdatePostalService`).
    pub async fn update_postal_service(&self, service: &PostalService) -> Result<(), RemoteError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            postal_service_details: &'a PostalService,
        }
        if service.pk_postal_service_id.is_none() {
            return Err(RemoteError::request(
                SERVICE,
                "PostalServices/UpdatePostalService",
                "pkPostalServiceId is required to update a postal service",
            ));
        }
        let _: Value = self
            .post(
                "PostalServices/UpdatePostalService",
                &Body {
                    postal_service_details: service,
                },
                Idempotency::Idempotent,
            )
            .await?;
        Ok(())
    }
}
