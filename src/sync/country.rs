//! Countries as orders name them: every ISO 3166-1 country by alpha-2 code, alpha-3 code
//! or English name (from the `celes` crate, which follows the ISO list), plus the spellings
//! channels and Linnworks use that are not ISO names ("United Kingdom", "UK", "England",
//! "USA", "Korea, Republic of", ...). Stream takes the ISO 3166-1 alpha-2 code: both public
//! clients send one (`CountryCode` of Linnworks' label request in [RV2], the partner's ISO
//! code in [ODOO]).

use celes::Country;

/// Names the ISO list and `celes`' aliases do not cover, compared after [`key`]. The
/// constituent countries of the United Kingdom are what UK channels put in the country
/// field; `UK` is ISO's exceptionally reserved code for GB.
const EXTRA: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northernireland", "GB"),
    ("greatbritain", "GB"),
    ("unitedkingdom", "GB"),
    ("usa", "US"),
    ("unitedstates", "US"),
    ("unitedstatesofamerica", "US"),
    ("america", "US"),
    ("southkorea", "KR"),
    ("korea", "KR"),
    ("northkorea", "KP"),
    ("russia", "RU"),
    ("vietnam", "VN"),
    ("laos", "LA"),
    ("iran", "IR"),
    ("syria", "SY"),
    ("czechrepublic", "CZ"),
    ("czechia", "CZ"),
    ("holland", "NL"),
    ("thenetherlands", "NL"),
    ("ivorycoast", "CI"),
    ("cotedivoire", "CI"),
    ("macedonia", "MK"),
    ("northmacedonia", "MK"),
    ("moldova", "MD"),
    ("tanzania", "TZ"),
    ("bolivia", "BO"),
    ("venezuela", "VE"),
    ("taiwan", "TW"),
    ("palestine", "PS"),
    ("vatican", "VA"),
    ("vaticancity", "VA"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("uae", "AE"),
    ("unitedarabemirates", "AE"),
    ("brunei", "BN"),
    ("capeverde", "CV"),
    ("swaziland", "SZ"),
    ("eswatini", "SZ"),
    ("burma", "MM"),
    ("myanmar", "MM"),
    ("micronesia", "FM"),
    ("congo", "CG"),
    ("democraticrepublicofthecongo", "CD"),
    ("drcongo", "CD"),
    ("channelislands", "JE"),
];

/// The ISO 3166-1 alpha-2 code for a country as an order gives it (a code or a name), or
/// `None` when it names no country.
pub fn country_code(country: &str) -> Option<&'static str> {
    let text = country.trim();
    if text.is_empty() {
        return None;
    }
    // "Korea, Republic of" is how Linnworks and many lists write some names: read it as
    // "Republic of Korea".
    // "Taiwan, Republic Of China" is found by its first part.
    let parts = text.split_once(',');
    let reordered = parts.map(|(head, tail)| format!("{} {}", tail.trim(), head.trim()));
    let head = parts.map(|(head, _)| head.trim().to_string());
    [Some(text.to_string()), reordered, head]
        .into_iter()
        .flatten()
        .find_map(|t| lookup(&t))
}

fn lookup(text: &str) -> Option<&'static str> {
    let k = key(text);
    if k.is_empty() {
        return None;
    }
    if let Some((_, code)) = EXTRA.iter().find(|(name, _)| *name == k) {
        return Some(code);
    }
    let is_code = text.chars().all(|c| c.is_ascii_alphabetic());
    let found = match k.len() {
        2 if is_code => Country::from_alpha2(&k).ok(),
        3 if is_code => Country::from_alpha3(&k).ok(),
        _ => None,
    };
    found
        .or_else(|| Country::from_name(&k).ok())
        .or_else(|| Country::from_alias(&k).ok())
        .or_else(|| Country::from_name(format!("the{k}")).ok())
        .or_else(|| {
            k.strip_prefix("the")
                .and_then(|rest| Country::from_name(rest).ok())
        })
        .map(|c| c.alpha2)
}

/// Lower case letters and digits only: "Bosnia & Herzegovina" and "bosnia-and-herzegovina"
/// compare alike, as `celes` keys its names.
fn key(text: &str) -> String {
    text.replace('&', " and ")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(fold_accent)
        .collect()
}

/// The accented letters of country names as they are spelled without accents
/// ("Côte d'Ivoire", "Curaçao", "Réunion", "Åland", "São Tomé", "Türkiye").
fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'ç' => 'c',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_iso_country_by_code_and_name() {
        let all = Country::get_countries();
        assert!(all.len() >= 249, "{}", all.len());
        let mut wrong = Vec::new();
        for c in all {
            let lower = c.alpha2.to_lowercase();
            for given in [c.alpha2, lower.as_str(), c.alpha3, c.long_name] {
                if country_code(given) != Some(c.alpha2) {
                    wrong.push(format!(
                        "{given} -> {:?}, not {}",
                        country_code(given),
                        c.alpha2
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn names_orders_use() {
        for (name, code) in [
            ("Hungary", "HU"),
            ("Japan", "JP"),
            ("United Arab Emirates", "AE"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("Great Britain", "GB"),
            ("England", "GB"),
            ("Northern Ireland", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("Korea, Republic of", "KR"),
            ("South Korea", "KR"),
            ("Russian Federation", "RU"),
            ("Viet Nam", "VN"),
            ("Czech Republic", "CZ"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("Bosnia & Herzegovina", "BA"),
            ("Côte d'Ivoire", "CI"),
            ("Türkiye", "TR"),
            ("Jersey", "JE"),
            ("Guernsey", "GG"),
            ("Isle of Man", "IM"),
            ("  ireland ", "IE"),
            ("New Zealand", "NZ"),
            ("Saudi Arabia", "SA"),
            ("Hong Kong", "HK"),
        ] {
            assert_eq!(country_code(name), Some(code), "{name}");
        }
    }

    #[test]
    fn non_countries_are_refused() {
        for text in ["", "  ", "Narnia", "XX", "ZZZ", "UNKNOWN", "Europe", "12"] {
            assert_eq!(country_code(text), None, "{text:?}");
        }
    }
}
