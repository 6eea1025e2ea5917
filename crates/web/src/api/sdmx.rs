//! SDMX-JSON 2.0 messages for the indicators: the data message the central Government's
//! systems read, and the structure message (data structure definition, code lists,
//! concepts) that tells them what its codes mean. Dimensions: INDICATOR and REF_AREA per
//! series, TIME_PERIOD per observation; OBS_VALUE the measure; UNIT_MEASURE a series
//! attribute.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sohoa_domain::indicators::Indicator;

use sohoa_app::indicators::PublishedValue;

pub const DATA_MEDIA_TYPE: &str = "application/vnd.sdmx.data+json;version=2.0.0";
pub const STRUCTURE_MEDIA_TYPE: &str = "application/vnd.sdmx.structure+json;version=2.0.0";
const DATA_SCHEMA: &str = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/2.0.0/sdmx-json-data-schema.json";
const STRUCTURE_SCHEMA: &str = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/2.0.0/sdmx-json-structure-schema.json";

/// The maintenance agency of the structures: the city.
const AGENCY: &str = "VN_HCMC";
const VERSION: &str = "1.0";
const DSD: &str = "DSD_SOHOA_IND";
const CONCEPTS: &str = "CS_SOHOA_IND";

fn dsd_urn() -> String {
    format!("urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure={AGENCY}:{DSD}({VERSION})")
}
fn concept_urn(id: &str) -> String {
    format!("urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept={AGENCY}:{CONCEPTS}({VERSION}).{id}")
}
fn codelist_urn(id: &str) -> String {
    format!("urn:sdmx:org.sdmx.infomodel.codelist.Codelist={AGENCY}:{id}({VERSION})")
}

/// A unit of measure as a code id (`billion VND` → `billion_VND`): ids allow letters,
/// digits, `_`, `@`, `$` and `-` only.
fn measure_id(unit: &str) -> String {
    let id: String = unit
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '$' | '-') {
                c
            } else if c == '%' {
                'P'
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() {
        "NA".to_owned()
    } else {
        id
    }
}

fn meta(prefix: &str, schema: &str) -> Value {
    let now = sohoa_domain::Timestamp::now().to_string();
    let id: String = now.chars().filter(char::is_ascii_digit).collect();
    json!({
        "schema": schema,
        "id": format!("{prefix}-{id}"),
        "prepared": now,
        "test": false,
        "contentLanguages": ["vi", "en"],
        "sender": {"id": AGENCY, "name": "Ủy ban nhân dân Thành phố Hồ Chí Minh",
            "names": {"vi": "Ủy ban nhân dân Thành phố Hồ Chí Minh", "en": "Ho Chi Minh City People's Committee"}},
    })
}

/// What both messages enumerate: indicators in the order given, areas, periods and units
/// of measure sorted.
struct Codes<'a> {
    indicators: Vec<&'a Indicator>,
    areas: Vec<String>,
    periods: Vec<String>,
    measures: Vec<(String, String)>,
}

fn codes(data: &[(Indicator, Vec<PublishedValue>)]) -> Codes<'_> {
    let areas: BTreeSet<String> = data
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.unit_code.clone()))
        .collect();
    let periods: BTreeSet<String> = data
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.period.clone()))
        .collect();
    let measures: BTreeMap<String, String> = data
        .iter()
        .map(|(i, _)| (measure_id(&i.unit), i.unit.clone()))
        .collect();
    Codes {
        indicators: data.iter().map(|(i, _)| i).collect(),
        areas: areas.into_iter().collect(),
        periods: periods.into_iter().collect(),
        measures: measures.into_iter().collect(),
    }
}

fn area_name(names: &BTreeMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

/// The data message for `data` (each indicator with its published values); `names` are
/// the units' names.
pub fn data_message(
    data: &[(Indicator, Vec<PublishedValue>)],
    names: &BTreeMap<String, String>,
) -> Value {
    let c = codes(data);
    let index = |list: &[String], v: &str| list.iter().position(|x| x == v).unwrap_or(0);
    let measure_ids: Vec<String> = c.measures.iter().map(|(id, _)| id.clone()).collect();
    let mut series = serde_json::Map::new();
    for (i, (ind, values)) in data.iter().enumerate() {
        let mut by_area: BTreeMap<usize, serde_json::Map<String, Value>> = BTreeMap::new();
        for v in values {
            by_area
                .entry(index(&c.areas, &v.unit_code))
                .or_default()
                .insert(index(&c.periods, &v.period).to_string(), json!([v.value]));
        }
        for (a, observations) in by_area {
            series.insert(
                format!("{i}:{a}"),
                json!({
                    "attributes": [index(&measure_ids, &measure_id(&ind.unit))],
                    "observations": observations,
                }),
            );
        }
    }
    json!({
        "meta": meta("IND", DATA_SCHEMA),
        "data": {
            "structures": [{
                "links": [{"urn": dsd_urn(), "rel": "datastructure"}],
                "name": "Chỉ tiêu kinh tế - xã hội",
                "names": {"vi": "Chỉ tiêu kinh tế - xã hội", "en": "Socio-economic indicators"},
                "dimensions": {
                    "dataSet": [],
                    "series": [
                        {"id": "INDICATOR", "name": "Chỉ tiêu", "names": {"vi": "Chỉ tiêu", "en": "Indicator"},
                         "keyPosition": 0,
                         "values": c.indicators.iter().map(|i| json!({"id": i.code.as_str(), "name": i.name_vi,
                             "names": {"vi": i.name_vi, "en": i.name_en}})).collect::<Vec<_>>()},
                        {"id": "REF_AREA", "name": "Địa bàn", "names": {"vi": "Địa bàn", "en": "Reference area"},
                         "keyPosition": 1, "roles": ["REF_AREA"],
                         "values": c.areas.iter().map(|a| json!({"id": a, "name": area_name(names, a)})).collect::<Vec<_>>()},
                    ],
                    "observation": [
                        {"id": "TIME_PERIOD", "name": "Kỳ", "names": {"vi": "Kỳ", "en": "Time period"},
                         "keyPosition": 2, "roles": ["TIME_PERIOD"],
                         "values": c.periods.iter().map(|p| json!({"id": p, "name": p})).collect::<Vec<_>>()},
                    ],
                },
                "measures": {"observation": [
                    {"id": "OBS_VALUE", "name": "Giá trị", "names": {"vi": "Giá trị", "en": "Observation value"}},
                ]},
                "attributes": {
                    "dataSet": [],
                    "series": [
                        {"id": "UNIT_MEASURE", "name": "Đơn vị tính", "names": {"vi": "Đơn vị tính", "en": "Unit of measure"},
                         "relationship": {"dimensions": ["INDICATOR", "REF_AREA"]},
                         "values": c.measures.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>()},
                    ],
                    "observation": [],
                },
                "dataSets": [0],
            }],
            "dataSets": [{
                "structure": 0,
                "action": "Information",
                "links": [{"urn": dsd_urn(), "rel": "datastructure"}],
                "series": series,
            }],
        },
    })
}

/// The structure message: the DSD the data message refers to, with its code lists (the
/// indicators, areas and units of measure of `data`) and its concepts.
pub fn structure_message(
    data: &[(Indicator, Vec<PublishedValue>)],
    names: &BTreeMap<String, String>,
) -> Value {
    let c = codes(data);
    let concept =
        |id: &str, vi: &str, en: &str| json!({"id": id, "name": vi, "names": {"vi": vi, "en": en}});
    let codelist = |id: &str, vi: &str, en: &str, codes: Vec<Value>| {
        json!({"id": id, "agencyID": AGENCY, "version": VERSION, "name": vi,
            "names": {"vi": vi, "en": en},
            "links": [{"urn": codelist_urn(id), "rel": "self"}], "codes": codes})
    };
    json!({
        "meta": meta("STR", STRUCTURE_SCHEMA),
        "data": {
            "dataStructures": [{
                "id": DSD, "agencyID": AGENCY, "version": VERSION,
                "name": "Chỉ tiêu kinh tế - xã hội",
                "names": {"vi": "Chỉ tiêu kinh tế - xã hội", "en": "Socio-economic indicators"},
                "links": [{"urn": dsd_urn(), "rel": "self"}],
                "dataStructureComponents": {
                    "attributeList": {"id": "AttributeDescriptor", "attributes": [{
                        "id": "UNIT_MEASURE", "usage": "mandatory",
                        "attributeRelationship": {"dimensions": ["INDICATOR", "REF_AREA"]},
                        "conceptIdentity": concept_urn("UNIT_MEASURE"),
                        "localRepresentation": {"enumeration": codelist_urn("CL_UNIT_MEASURE")},
                    }]},
                    "dimensionList": {
                        "id": "DimensionDescriptor",
                        "dimensions": [
                            {"id": "INDICATOR", "position": 0, "conceptIdentity": concept_urn("INDICATOR"),
                             "localRepresentation": {"enumeration": codelist_urn("CL_INDICATOR")}},
                            {"id": "REF_AREA", "position": 1, "conceptIdentity": concept_urn("REF_AREA"),
                             "localRepresentation": {"enumeration": codelist_urn("CL_AREA")}},
                        ],
                        "timeDimension": {"id": "TIME_PERIOD", "conceptIdentity": concept_urn("TIME_PERIOD"),
                            "localRepresentation": {"format": {"dataType": "ObservationalTimePeriod"}}},
                    },
                    "measureList": {"id": "MeasureDescriptor", "measures": [{
                        "id": "OBS_VALUE", "usage": "mandatory", "conceptIdentity": concept_urn("OBS_VALUE"),
                        "localRepresentation": {"format": {"dataType": "Double"}},
                    }]},
                },
            }],
            "conceptSchemes": [{
                "id": CONCEPTS, "agencyID": AGENCY, "version": VERSION,
                "name": "Khái niệm chỉ tiêu", "names": {"vi": "Khái niệm chỉ tiêu", "en": "Indicator concepts"},
                "concepts": [
                    concept("INDICATOR", "Chỉ tiêu", "Indicator"),
                    concept("REF_AREA", "Địa bàn", "Reference area"),
                    concept("TIME_PERIOD", "Kỳ", "Time period"),
                    concept("OBS_VALUE", "Giá trị", "Observation value"),
                    concept("UNIT_MEASURE", "Đơn vị tính", "Unit of measure"),
                ],
            }],
            "codelists": [
                codelist("CL_INDICATOR", "Danh mục chỉ tiêu", "Indicators",
                    c.indicators.iter().map(|i| json!({"id": i.code.as_str(), "name": i.name_vi,
                        "names": {"vi": i.name_vi, "en": i.name_en}})).collect()),
                codelist("CL_AREA", "Đơn vị hành chính", "Administrative units",
                    c.areas.iter().map(|a| json!({"id": a, "name": area_name(names, a)})).collect()),
                codelist("CL_UNIT_MEASURE", "Đơn vị tính", "Units of measure",
                    c.measures.iter().map(|(id, name)| json!({"id": id, "name": name})).collect()),
            ],
        },
    })
}

pub fn response(media_type: &'static str, body: &Value) -> Response {
    ([(header::CONTENT_TYPE, media_type)], body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_of_measure_become_code_ids() {
        assert_eq!(measure_id("billion VND"), "billion_VND");
        assert_eq!(measure_id("%"), "P");
        assert_eq!(measure_id(""), "NA");
    }
}
