//! Discovery documents (RFC 7644 §4, RFC 7643 §5-7). They advertise only what works now:
//! PATCH, filtering, sorting, ETags and bulk (with its limits) yes; changePassword no; Users
//! and Groups.
//! No value is ever `null` (Entra rejects nulls in discovery documents).

use directory_proto::v1::{AttributeType, CustomAttribute};
use serde_json::{Value, json};

use super::attributes::{self, Attribute};
use super::{
    BASE_PATH, BulkLimits, DEFAULT_COUNT, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MAX_RESULTS,
    USER_SCHEMA, list::list_response,
};

const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn service_provider_config(base_url: &str, bulk: BulkLimits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": bulk.max_operations,
            "maxPayloadSize": bulk.max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        // RFC 9865. Cursors are positions, not server state: they do not expire.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_RESULTS,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a workspace SCIM token sent as 'Authorization: Bearer <token>'",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}{BASE_PATH}/ServiceProviderConfig"),
        },
    })
}

pub fn user_resource_type(base_url: &str, custom: &[CustomAttribute]) -> Value {
    let mut extensions = vec![json!({"schema": ENTERPRISE_USER_SCHEMA, "required": false})];
    for urn in custom_schema_urns(custom) {
        extensions.push(json!({"schema": urn, "required": false}));
    }
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}{BASE_PATH}/ResourceTypes/User"),
        },
    })
}

pub fn group_resource_type(base_url: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP_SCHEMA,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}{BASE_PATH}/ResourceTypes/Group"),
        },
    })
}

/// `GET /ResourceTypes/{name}`: `None` when unknown (names compare case-insensitively).
pub fn resource_type(base_url: &str, name: &str, custom: &[CustomAttribute]) -> Option<Value> {
    if name.eq_ignore_ascii_case("User") {
        Some(user_resource_type(base_url, custom))
    } else if name.eq_ignore_ascii_case("Group") {
        Some(group_resource_type(base_url))
    } else {
        None
    }
}

pub fn resource_types(base_url: &str, custom: &[CustomAttribute]) -> Value {
    list_response(
        vec![
            user_resource_type(base_url, custom),
            group_resource_type(base_url),
        ],
        2,
        1,
    )
}

/// The built-in schemas plus the extension schemas the workspace declared.
pub fn schemas(base_url: &str, custom: &[CustomAttribute]) -> Value {
    let mut all = vec![
        user_schema(base_url),
        enterprise_user_schema(base_url),
        group_schema(base_url),
    ];
    all.extend(
        custom_schema_urns(custom)
            .into_iter()
            .map(|urn| custom_schema(base_url, &urn, custom)),
    );
    let total = all.len() as i64;
    list_response(all, total, 1)
}

fn custom_schema_urns(custom: &[CustomAttribute]) -> Vec<String> {
    let mut urns: Vec<String> = Vec::new();
    for attribute in custom {
        if !urns
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&attribute.schema))
        {
            urns.push(attribute.schema.clone());
        }
    }
    urns
}

/// A declared extension schema: its attributes with their types (RFC 7643 §7).
fn custom_schema(base_url: &str, urn: &str, custom: &[CustomAttribute]) -> Value {
    let attributes = custom
        .iter()
        .filter(|a| a.schema.eq_ignore_ascii_case(urn))
        .map(|a| {
            let kind = match AttributeType::try_from(a.r#type).unwrap_or(AttributeType::String) {
                AttributeType::Boolean => "boolean",
                AttributeType::Integer => "integer",
                AttributeType::Decimal => "decimal",
                AttributeType::DateTime => "dateTime",
                AttributeType::String | AttributeType::Unspecified => "string",
            };
            attributes::custom_definition(
                &a.name,
                kind,
                a.multi_valued,
                a.case_exact,
                &a.description,
            )
        })
        .collect();
    schema_document_of(
        base_url,
        urn,
        urn,
        "Custom attributes declared for this workspace",
        attributes,
    )
}

/// `GET /Schemas/{urn}`: `None` when unknown.
pub fn schema(base_url: &str, urn: &str, custom: &[CustomAttribute]) -> Option<Value> {
    if urn.eq_ignore_ascii_case(USER_SCHEMA) {
        Some(user_schema(base_url))
    } else if urn.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
        Some(enterprise_user_schema(base_url))
    } else if urn.eq_ignore_ascii_case(GROUP_SCHEMA) {
        Some(group_schema(base_url))
    } else if custom.iter().any(|a| a.schema.eq_ignore_ascii_case(urn)) {
        Some(custom_schema(base_url, urn, custom))
    } else {
        None
    }
}

fn schema_document(
    base_url: &str,
    id: &str,
    name: &str,
    description: &str,
    attributes: &[Attribute],
) -> Value {
    schema_document_of(
        base_url,
        id,
        name,
        description,
        attributes.iter().map(Attribute::to_json).collect(),
    )
}

fn schema_document_of(
    base_url: &str,
    id: &str,
    name: &str,
    description: &str,
    attributes: Vec<Value>,
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}{BASE_PATH}/Schemas/{id}"),
        },
    })
}

fn user_schema(base_url: &str) -> Value {
    schema_document(
        base_url,
        USER_SCHEMA,
        "User",
        "User Account",
        attributes::USER,
    )
}

fn group_schema(base_url: &str) -> Value {
    schema_document(base_url, GROUP_SCHEMA, "Group", "Group", attributes::GROUP)
}

fn enterprise_user_schema(base_url: &str) -> Value {
    schema_document(
        base_url,
        ENTERPRISE_USER_SCHEMA,
        "EnterpriseUser",
        "Enterprise User",
        attributes::ENTERPRISE_USER,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(attributes: &'a Value, name: &str) -> &'a Value {
        attributes
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    const LIMITS: BulkLimits = BulkLimits {
        max_operations: 7,
        max_payload_bytes: 4096,
    };

    #[test]
    fn service_provider_config_advertises_only_what_works() {
        let spc = service_provider_config("https://h", LIMITS);
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(
            spc["bulk"],
            json!({"supported": true, "maxOperations": 7, "maxPayloadSize": 4096})
        );
        assert_eq!(
            spc["filter"],
            json!({"supported": true, "maxResults": 1000})
        );
        assert_eq!(spc["sort"], json!({"supported": true}));
        assert_eq!(spc["etag"], json!({"supported": true}));
        assert_eq!(spc["changePassword"]["supported"], false);
        assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(spc["authenticationSchemes"][0]["primary"], true);
        assert_eq!(
            spc["meta"]["location"],
            "https://h/scim/v2/ServiceProviderConfig"
        );
    }

    #[test]
    fn schemas_are_a_list_with_meta_and_rfc_characteristics() {
        let list = schemas("https://h", &[]);
        assert_eq!(list["totalResults"], 3);
        let user = &list["Resources"][0];
        assert_eq!(user["id"], USER_SCHEMA);
        assert_eq!(user["meta"]["resourceType"], "Schema");
        assert_eq!(
            user["meta"]["location"],
            format!("https://h/scim/v2/Schemas/{USER_SCHEMA}")
        );
        let attributes = &user["attributes"];
        let user_name = find(attributes, "userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(find(attributes, "password")["returned"], "never");
        assert_eq!(find(attributes, "groups")["mutability"], "readOnly");
        assert_eq!(find(attributes, "emails")["multiValued"], true);
        assert!(!list.to_string().contains("null"));
        let enterprise = &list["Resources"][1];
        assert_eq!(enterprise["id"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(
            find(&enterprise["attributes"], "manager")["type"],
            "complex"
        );
        assert_eq!(
            schema("https://h", &USER_SCHEMA.to_lowercase(), &[]).unwrap()["id"],
            USER_SCHEMA
        );
        assert!(schema("https://h", "urn:nope", &[]).is_none());
    }

    #[test]
    fn group_schema_follows_rfc_7643() {
        let list = schemas("https://h", &[]);
        let group = &list["Resources"][2];
        assert_eq!(group["id"], GROUP_SCHEMA);
        assert_eq!(group["name"], "Group");
        assert_eq!(
            group["meta"]["location"],
            format!("https://h/scim/v2/Schemas/{GROUP_SCHEMA}")
        );
        let attributes = &group["attributes"];
        let display_name = find(attributes, "displayName");
        assert_eq!(display_name["required"], true);
        assert_eq!(display_name["type"], "string");
        let members = find(attributes, "members");
        assert_eq!(members["type"], "complex");
        assert_eq!(members["multiValued"], true);
        assert_eq!(members["mutability"], "readWrite");
        assert_eq!(members["returned"], "default");
        assert_eq!(members["uniqueness"], "none");
        let subs = &members["subAttributes"];
        for name in ["value", "$ref", "display", "type"] {
            find(subs, name);
        }
        assert_eq!(find(subs, "$ref")["type"], "reference");
        assert_eq!(find(subs, "$ref")["referenceTypes"], json!(["User"]));
        assert_eq!(
            schema("https://h", &GROUP_SCHEMA.to_uppercase(), &[]).unwrap()["id"],
            GROUP_SCHEMA
        );
        let user_groups = find(&list["Resources"][0]["attributes"], "groups");
        assert_eq!(user_groups["mutability"], "readOnly");
        assert_eq!(user_groups["multiValued"], true);
    }

    /// Every key of every object, recursively: Entra rejects `null` in discovery JSON.
    fn assert_no_nulls(value: &Value, at: &str) {
        match value {
            Value::Null => panic!("null at {at}"),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    assert_no_nulls(item, &format!("{at}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    assert_no_nulls(v, &format!("{at}.{k}"));
                }
            }
            _ => {}
        }
    }

    #[test]
    fn discovery_documents_have_no_nulls() {
        assert_no_nulls(&service_provider_config("https://h", LIMITS), "spc");
        assert_no_nulls(&resource_types("https://h", &[]), "resourceTypes");
        assert_no_nulls(&schemas("https://h", &[]), "schemas");
    }

    #[test]
    fn resource_types_list_users_and_groups() {
        let list = resource_types("https://h", &[]);
        assert_eq!(list["totalResults"], 2);
        let user = &list["Resources"][0];
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schemaExtensions"][0]["required"], false);
        assert_eq!(
            user["meta"]["location"],
            "https://h/scim/v2/ResourceTypes/User"
        );
        let group = &list["Resources"][1];
        assert_eq!(group["id"], "Group");
        assert_eq!(group["endpoint"], "/Groups");
        assert_eq!(group["schema"], GROUP_SCHEMA);
        assert_eq!(
            group["meta"]["location"],
            "https://h/scim/v2/ResourceTypes/Group"
        );
        assert_eq!(
            resource_type("https://h", "group", &[]).unwrap()["id"],
            "Group"
        );
        assert!(resource_type("https://h", "Device", &[]).is_none());
    }
}
