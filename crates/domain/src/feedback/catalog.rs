//! The report categories a new installation starts with (Open311 services). Administrators
//! route them to agencies; the city may add its own.

use super::report::{Attribute, AttributeValue, Category, Datatype};

fn value(key: &str, name: &str) -> AttributeValue {
    AttributeValue {
        key: key.to_owned(),
        name: name.to_owned(),
    }
}

fn list(code: &str, description: &str, required: bool, values: Vec<AttributeValue>) -> Attribute {
    Attribute {
        code: code.to_owned(),
        variable: true,
        datatype: Datatype::Singlevaluelist,
        required,
        description: description.to_owned(),
        datatype_description: String::new(),
        order: 1,
        values,
    }
}

fn category(
    code: &str,
    name_vi: &str,
    name_en: &str,
    group: &str,
    keywords: &str,
    deadline_days: u32,
    attributes: Vec<Attribute>,
) -> Category {
    Category {
        code: code.to_owned(),
        name_vi: name_vi.to_owned(),
        name_en: name_en.to_owned(),
        description: format!("{name_vi} / {name_en}"),
        group: group.to_owned(),
        keywords: keywords.to_owned(),
        deadline_days,
        attributes,
    }
}

/// Road damage, flooding, street lighting, waste, noise, public order, administrative
/// complaints and suggestions, with the working days each is to be resolved in.
pub fn default_categories() -> Vec<Category> {
    vec![
        category(
            "road_damage",
            "Hư hỏng đường, vỉa hè",
            "Road and pavement damage",
            "infrastructure",
            "ổ gà, pothole, vỉa hè, sidewalk",
            5,
            vec![list(
                "size",
                "Kích thước chỗ hỏng / Size of the damage",
                false,
                vec![
                    value("small", "Nhỏ hơn 0,5 m / under 0.5 m"),
                    value("medium", "0,5-2 m"),
                    value("large", "Lớn hơn 2 m / over 2 m"),
                ],
            )],
        ),
        category(
            "flooding",
            "Ngập nước",
            "Flooding",
            "infrastructure",
            "ngập, triều cường, flood, tide",
            2,
            vec![list(
                "depth",
                "Độ sâu / Depth",
                true,
                vec![
                    value("ankle", "Đến mắt cá / ankle"),
                    value("knee", "Đến đầu gối / knee"),
                    value("waist", "Đến thắt lưng / waist"),
                ],
            )],
        ),
        category(
            "street_lighting",
            "Chiếu sáng công cộng",
            "Street lighting",
            "infrastructure",
            "đèn đường, street light",
            3,
            vec![],
        ),
        category(
            "waste",
            "Rác thải, vệ sinh môi trường",
            "Waste and sanitation",
            "environment",
            "rác, waste, garbage",
            2,
            vec![],
        ),
        category(
            "noise",
            "Tiếng ồn",
            "Noise",
            "environment",
            "ồn, karaoke, noise",
            3,
            vec![],
        ),
        category(
            "public_order",
            "Trật tự đô thị, lấn chiếm",
            "Public order and encroachment",
            "order",
            "lấn chiếm, encroachment, trật tự",
            2,
            vec![],
        ),
        category(
            "administrative_complaint",
            "Phản ánh về thủ tục hành chính",
            "Complaint about an administrative procedure",
            "administration",
            "thủ tục, hồ sơ, procedure",
            10,
            vec![],
        ),
        category(
            "suggestion",
            "Kiến nghị, góp ý",
            "Suggestion",
            "administration",
            "góp ý, kiến nghị, suggestion",
            15,
            vec![],
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_categories_have_unique_codes_and_deadlines() {
        let all = super::default_categories();
        let mut codes: Vec<&str> = all.iter().map(|c| c.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|c| c.deadline_days > 0));
    }
}
