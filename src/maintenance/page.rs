//! The maintenance page's content, from `spec.maintenance`: what the
//! template shows (title, message, contacts with dialable `tel:` links,
//! extra links) and the headers every answer of the page carries. Pure.

use serde::Serialize;

use crate::{api::Maintenance, rollout::traffic::Edge};

/// Title when the spec gives none.
pub const DEFAULT_TITLE: &str = "We'll be right back";
/// Message when the spec gives none.
pub const DEFAULT_MESSAGE: &str =
    "The service is not available right now. Please try again in a few minutes.";
/// Seconds a client is told to wait before trying again, by default.
pub const DEFAULT_RETRY_AFTER: i32 = 120;

/// A contact as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PageContact {
    pub name: String,
    /// The number as the spec writes it, for reading.
    pub phone: Option<String>,
    /// `tel:` link of the number, digits and a leading `+` only.
    pub tel: Option<String>,
    pub url: Option<String>,
}

/// A link as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PageLink {
    pub text: String,
    pub url: String,
}

/// Everything the page template reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page {
    pub title: String,
    /// The message, one entry per paragraph (blank lines separate them).
    pub paragraphs: Vec<String>,
    pub contacts: Vec<PageContact>,
    pub links: Vec<PageLink>,
}

impl Page {
    /// The page `maintenance` describes.
    pub fn of(maintenance: &Maintenance) -> Page {
        let message = maintenance
            .message
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_MESSAGE.to_string());
        let paragraphs = message
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        let contacts = maintenance
            .contacts
            .iter()
            .flatten()
            .map(|contact| PageContact {
                name: contact.name.clone(),
                phone: contact.phone.clone(),
                tel: contact.phone.as_deref().and_then(tel_link),
                url: contact.url.clone(),
            })
            .collect();
        let links = maintenance
            .links
            .iter()
            .flatten()
            .map(|link| PageLink {
                text: link.text.clone(),
                url: link.url.clone(),
            })
            .collect();
        Page {
            title: maintenance
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_TITLE.to_string()),
            paragraphs,
            contacts,
            links,
        }
    }
}

/// `tel:` link of a number as people write it (`022 2754 6669`,
/// `1800-599-0019`, `+91 …`): the digits, with a leading `+` kept. `None`
/// when there are no digits.
pub fn tel_link(phone: &str) -> Option<String> {
    let plus = phone.trim_start().starts_with('+');
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("tel:{}{digits}", if plus { "+" } else { "" }))
}

/// The headers every answer of the page carries beside `Content-Type`,
/// `Cache-Control: no-store` and `Retry-After`: the edge's security headers,
/// and the standard ones when the edge sets none, so the page is never
/// framed or sniffed.
pub fn response_headers(edge: &Edge) -> Vec<(String, String)> {
    let mut headers = edge.response_headers.clone();
    for (name, value) in crate::rollout::traffic::edge::STANDARD_HEADERS {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Contact, MaintenanceLink};

    #[test]
    fn helplines_become_dialable_links() {
        assert_eq!(
            tel_link("022 2754 6669").as_deref(),
            Some("tel:02227546669")
        );
        assert_eq!(
            tel_link("1800-599-0019").as_deref(),
            Some("tel:18005990019")
        );
        assert_eq!(
            tel_link(" +91 22 2754 6669").as_deref(),
            Some("tel:+912227546669")
        );
        assert_eq!(tel_link("ask the front desk"), None);
    }

    #[test]
    fn the_page_falls_back_to_a_plain_message_and_keeps_paragraphs() {
        let page = Page::of(&Maintenance::default());
        assert_eq!(page.title, DEFAULT_TITLE);
        assert_eq!(page.paragraphs, [DEFAULT_MESSAGE]);
        let page = Page::of(&Maintenance {
            title: Some("MindMitra is down".into()),
            message: Some("We are fixing it.\n\nIf you are in crisis,\ncall now.".into()),
            contacts: Some(vec![Contact {
                name: "Kiran".into(),
                phone: Some("1800-599-0019".into()),
                url: None,
            }]),
            links: Some(vec![MaintenanceLink {
                text: "Status".into(),
                url: "https://status.example.org".into(),
            }]),
            ..Default::default()
        });
        assert_eq!(
            page.paragraphs,
            ["We are fixing it.", "If you are in crisis, call now."]
        );
        assert_eq!(page.contacts[0].tel.as_deref(), Some("tel:18005990019"));
        assert_eq!(page.links[0].url, "https://status.example.org");
    }

    #[test]
    fn the_page_always_sends_the_standard_headers() {
        let names = |edge: &Edge| -> Vec<String> {
            response_headers(edge).into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(
            names(&Edge::default()),
            [
                "X-Content-Type-Options",
                "X-Frame-Options",
                "Referrer-Policy"
            ]
        );
        let edge = Edge {
            response_headers: vec![
                (
                    "Content-Security-Policy".into(),
                    "default-src 'self'".into(),
                ),
                ("X-Frame-Options".into(), "SAMEORIGIN".into()),
            ],
            ..Edge::default()
        };
        let headers = response_headers(&edge);
        assert_eq!(headers.len(), 4);
        assert_eq!(headers[1], ("X-Frame-Options".into(), "SAMEORIGIN".into()));
    }
}
