//! The tera templates of the children: embedded from `templates/`, or read
//! from a directory that replaces them.

use std::path::Path;

use include_dir::{Dir, include_dir};
use tera::{Context, Kwargs, State, Tera, Value};

use super::{children::ChildKind, error::RenderError};

static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The templates a set must hold: every templated child's, and the page's.
fn required() -> impl Iterator<Item = &'static str> {
    ChildKind::ALL
        .into_iter()
        .filter_map(ChildKind::template)
        .chain([Templates::PAGE])
}

/// A loaded set of child templates.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// The maintenance page's HTML template (escaped by its `.html` name).
    pub const PAGE: &'static str = "maintenance.html";

    /// The templates compiled into the binary.
    pub fn embedded() -> Result<Self, RenderError> {
        // The page's stylesheet lives beside its template; it is served
        // as it is, not rendered.
        let sources = EMBEDDED
            .files()
            .filter(|file| file.path().extension().is_none_or(|e| e != "css"))
            .filter_map(|file| {
                let name = file.path().to_str()?.to_string();
                Some((name, file.contents_utf8()?.to_string()))
            });
        Self::from_sources(sources)
    }

    /// Templates read from `dir`; each child kind's file must be there.
    pub fn from_dir(dir: &Path) -> Result<Self, RenderError> {
        let mut sources = Vec::new();
        for template in required() {
            let path = dir.join(template);
            let text =
                std::fs::read_to_string(&path).map_err(|error| RenderError::MissingTemplate {
                    template: template.into(),
                    message: format!("{}: {error}", path.display()),
                })?;
            sources.push((template.to_string(), text));
        }
        Self::from_sources(sources)
    }

    fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, RenderError> {
        let mut tera = Tera::default();
        // YAML flow values are valid JSON, so `| json` is how every value
        // enters a template: quoting and escaping are never hand-written.
        tera.register_filter("json", |value: Value, _: Kwargs, _: &State| {
            serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
        });
        for (name, text) in sources {
            tera.add_raw_template(&name, &text)
                .map_err(|error| RenderError::Template {
                    template: name.clone(),
                    message: error.to_string(),
                })?;
        }
        for template in required() {
            if !tera.contains_template(template) {
                return Err(RenderError::MissingTemplate {
                    template: template.into(),
                    message: "not found among the templates".into(),
                });
            }
        }
        Ok(Self { tera })
    }

    /// Renders the maintenance page with `context`.
    pub fn render_page(&self, context: &Context) -> Result<String, RenderError> {
        self.tera
            .render(Self::PAGE, context)
            .map_err(|error| RenderError::Template {
                template: Self::PAGE.into(),
                message: error.to_string(),
            })
    }

    /// Renders the template of `kind` with `context`.
    pub fn render(&self, kind: ChildKind, context: &Context) -> Result<String, RenderError> {
        let template = kind
            .template()
            .ok_or_else(|| RenderError::MissingTemplate {
                template: format!("{kind:?}"),
                message: "this child is built from typed values, not a template".into(),
            })?;
        self.tera
            .render(template, context)
            .map_err(|error| RenderError::Template {
                template: template.into(),
                message: error.to_string(),
            })
    }
}
