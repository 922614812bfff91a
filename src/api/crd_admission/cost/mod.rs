//! The static cost of one CEL rule as a Kubernetes 1.26 API server
//! estimates it (cel-go 0.12 with the Kubernetes list library), so a CRD
//! is checked against the oldest estimator it must pass.
//!
//! That estimator is stricter than later ones in one way that matters:
//! the result of a comprehension (`map`, `filter`) has no size, so
//! anything that walks it (`sum()`, `isSorted()`, another macro) is
//! charged for a list of 2^64 elements, whatever `maxItems` says. Later
//! releases size `map()` and `filter()` results by their input, which is
//! why such rules pass there and are refused on 1.26 (cel-go 0.12.5 in
//! 1.26.0 and 0.12.6 in 1.26.1 estimate alike: 0.12.6 changed only
//! evaluation).
//!
//! Functions the model does not know are reported, never guessed.

use cel::common::ast::{ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue, SelectExpr};

use super::decl::{Decl, Kind};

mod calls;

const STRING_TRAVERSAL: f64 = 0.1;
const REGEX_LENGTH: f64 = 0.25;
const LIST_CREATE: u64 = 10;
const MAP_CREATE: u64 = 30;

/// A range of cost or size, saturating at `u64::MAX`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}

impl Range {
    pub const UNKNOWN: Range = Range {
        min: 0,
        max: u64::MAX,
    };

    pub const fn fixed(n: u64) -> Self {
        Range { min: n, max: n }
    }

    fn add(self, other: Range) -> Range {
        Range {
            min: self.min.saturating_add(other.min),
            max: self.max.saturating_add(other.max),
        }
    }

    fn times(self, other: Range) -> Range {
        Range {
            min: self.min.saturating_mul(other.min),
            max: self.max.saturating_mul(other.max),
        }
    }

    fn factor(self, per_unit: f64) -> Range {
        let scale = |n: u64| {
            let product = (n as f64 * per_unit).ceil();
            if product >= u64::MAX as f64 {
                u64::MAX
            } else {
                product as u64
            }
        };
        Range {
            min: scale(self.min),
            max: scale(self.max),
        }
    }

    fn union(self, other: Range) -> Range {
        Range {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }
}

/// The CEL type of an expression, as far as the cost needs it.
#[derive(Clone, Debug)]
enum Ty<'a> {
    Bool,
    Int,
    Double,
    String,
    Bytes,
    Null,
    Dyn,
    List(Box<Ty<'a>>),
    Map(Box<Ty<'a>>),
    Object(&'a Decl),
}

impl<'a> Ty<'a> {
    fn of(decl: &'a Decl) -> Self {
        match &decl.kind {
            Kind::Bool => Ty::Bool,
            Kind::Int => Ty::Int,
            Kind::Double => Ty::Double,
            Kind::String => Ty::String,
            Kind::Bytes => Ty::Bytes,
            Kind::Duration | Kind::Timestamp | Kind::Dyn => Ty::Dyn,
            Kind::List(items) => Ty::List(Box::new(Ty::of(items))),
            Kind::Map(values) => Ty::Map(Box::new(Ty::of(values))),
            Kind::Object(_) => Ty::Object(decl),
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, Ty::String | Ty::Bytes)
    }

    /// The elements a comprehension binds: list items or map keys.
    fn element(&self) -> Ty<'a> {
        match self {
            Ty::List(items) => (**items).clone(),
            Ty::Map(_) => Ty::String,
            _ => Ty::Dyn,
        }
    }
}

/// One estimated expression.
#[derive(Clone, Debug)]
struct Node<'a> {
    cost: Range,
    ty: Ty<'a>,
    /// A path through the declarations (`self`, a field, `@items`…).
    path: Option<Vec<String>>,
    /// A size CEL knows from the expression itself.
    size: Option<Range>,
}

impl<'a> Node<'a> {
    fn new(cost: Range, ty: Ty<'a>) -> Self {
        Self {
            cost,
            ty,
            path: None,
            size: None,
        }
    }
}

/// The estimate of a rule, or what the model could not estimate.
pub fn estimate(rule: &str, root: &Decl) -> Result<Range, String> {
    let expr = cel::parser::Parser::new()
        .parse(rule)
        .map_err(|e| format!("does not compile: {e}"))?;
    let mut coster = Coster {
        root,
        scopes: Vec::new(),
        unknown: Vec::new(),
    };
    let node = coster.cost(&expr);
    match coster.unknown.first() {
        Some(function) => Err(format!(
            "uses {function}, which the 1.26 cost model here does not know"
        )),
        None => Ok(node.cost),
    }
}

struct Coster<'a> {
    root: &'a Decl,
    scopes: Vec<(String, Option<Vec<String>>, Ty<'a>)>,
    unknown: Vec<String>,
}

impl<'a> Coster<'a> {
    /// The size the API server's estimator gives a path: `maxLength`,
    /// `maxItems` or `maxProperties` of the node it names (the first
    /// element, a variable, always stands for the rule's own node).
    fn schema_size(&self, path: &[String]) -> Option<Range> {
        let (_, rest) = path.split_first()?;
        let mut node = self.root;
        for step in rest {
            node = match (step.as_str(), &node.kind) {
                ("@items" | "@values", Kind::List(items) | Kind::Map(items)) => items,
                ("@keys", Kind::Map(_)) => return Some(Range::fixed(0)),
                (field, Kind::Object(fields)) => fields.get(field)?,
                _ => return None,
            };
        }
        Some(Range {
            min: 0,
            max: node.max_elements,
        })
    }

    /// cel-go's size of a value: known from the expression, else from
    /// the schema, else 1 for a scalar, else unknown (2^64). (A 1.26 API
    /// server accepts `has(a) != has(b)`: scalars have a size there.)
    fn size(&self, node: &Node) -> Range {
        node.size
            .or_else(|| node.path.as_deref().and_then(|p| self.schema_size(p)))
            .unwrap_or(match node.ty {
                Ty::Bool | Ty::Int | Ty::Double => Range::fixed(1),
                _ => Range::UNKNOWN,
            })
    }

    fn cost(&mut self, expr: &IdedExpr) -> Node<'a> {
        match &expr.expr {
            Expr::Literal(literal) => literal_node(literal),
            Expr::Ident(name) => {
                let (path, ty) = match self.scopes.iter().rev().find(|(n, _, _)| n == name) {
                    Some((_, path, ty)) => (path.clone(), ty.clone()),
                    None => {
                        let ty = if name == "self" || name == "oldSelf" {
                            Ty::of(self.root)
                        } else {
                            Ty::Dyn
                        };
                        (Some(vec![name.clone()]), ty)
                    }
                };
                Node {
                    path,
                    ..Node::new(Range::fixed(1), ty)
                }
            }
            // has(): no cost in cel-go 0.12, and its operand is not costed.
            Expr::Select(select) if select.test => Node::new(Range::fixed(0), Ty::Bool),
            Expr::Select(select) => self.select(select),
            Expr::List(list) => {
                let elements: Vec<Node> = list.elements.iter().map(|e| self.cost(e)).collect();
                let cost = elements
                    .iter()
                    .fold(Range::fixed(LIST_CREATE), |sum, e| sum.add(e.cost));
                let item = elements.first().map_or(Ty::Dyn, |e| e.ty.clone());
                Node {
                    size: Some(Range::fixed(elements.len() as u64)),
                    ..Node::new(cost, Ty::List(Box::new(item)))
                }
            }
            Expr::Map(map) => {
                let mut cost = Range::fixed(MAP_CREATE);
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        cost = cost.add(self.cost(&entry.key).cost);
                        cost = cost.add(self.cost(&entry.value).cost);
                    }
                }
                Node {
                    size: Some(Range::fixed(map.entries.len() as u64)),
                    ..Node::new(cost, Ty::Map(Box::new(Ty::Dyn)))
                }
            }
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
            Expr::Call(call) => {
                let target = call.target.as_deref().map(|t| self.cost(t));
                let args: Vec<Node> = call.args.iter().map(|a| self.cost(a)).collect();
                let mut node = self.call(&call.func_name, target.as_ref(), &args);
                if let Some(target) = &target {
                    node.cost = node.cost.add(target.cost);
                }
                node
            }
            Expr::Struct(_) | Expr::Unspecified => {
                self.unknown.push("a message literal".into());
                Node::new(Range::UNKNOWN, Ty::Dyn)
            }
        }
    }

    /// `operand.field`: the field's type from the schema, and its path.
    fn select(&mut self, select: &SelectExpr) -> Node<'a> {
        let operand = self.cost(&select.operand);
        let ty = match &operand.ty {
            Ty::Object(Decl {
                kind: Kind::Object(fields),
                ..
            }) => fields.get(&select.field).map_or(Ty::Dyn, Ty::of),
            Ty::Map(values) => (**values).clone(),
            _ => Ty::Dyn,
        };
        let path = operand.path.map(|mut p| {
            p.push(select.field.clone());
            p
        });
        Node {
            path,
            ..Node::new(operand.cost.add(Range::fixed(1)), ty)
        }
    }

    /// A macro's loop (`all`, `exists`, `map`, `filter`): the range once,
    /// the condition and step once per item.
    fn comprehension(&mut self, comprehension: &ComprehensionExpr) -> Node<'a> {
        let range = self.cost(&comprehension.iter_range);
        let init = self.cost(&comprehension.accu_init);
        let mut item_path = range.path.clone().unwrap_or_default();
        item_path.push(
            if matches!(range.ty, Ty::Map(_)) {
                "@keys"
            } else {
                "@items"
            }
            .into(),
        );
        self.scopes.push((
            comprehension.iter_var.clone(),
            Some(item_path),
            range.ty.element(),
        ));
        let accu = comprehension.accu_var.clone();
        self.scopes
            .push((accu.clone(), Some(vec![accu.clone()]), init.ty.clone()));
        let condition = self.cost(&comprehension.loop_cond);
        let step = self.cost(&comprehension.loop_step);
        self.scopes.pop();
        self.scopes.pop();
        // A list accumulator takes the type of what the step adds.
        let accu_ty = match (&init.ty, &step.ty) {
            (Ty::List(_), Ty::List(_)) => step.ty.clone(),
            _ => init.ty.clone(),
        };
        self.scopes.push((accu.clone(), Some(vec![accu]), accu_ty));
        let result = self.cost(&comprehension.result);
        self.scopes.pop();
        let rounds = self.size(&range);
        let cost = range
            .cost
            .add(init.cost)
            .add(result.cost)
            .add(rounds.times(condition.cost.add(step.cost)));
        // cel-go 0.12 gives a comprehension's result no size.
        Node::new(cost, result.ty)
    }
}

fn literal_node<'a>(literal: &LiteralValue) -> Node<'a> {
    let (ty, size) = match literal {
        LiteralValue::String(text) => (Ty::String, text.inner().len() as u64),
        LiteralValue::Bytes(bytes) => (Ty::Bytes, bytes.inner().len() as u64),
        LiteralValue::Boolean(_) => (Ty::Bool, 1),
        LiteralValue::Int(_) | LiteralValue::UInt(_) => (Ty::Int, 1),
        LiteralValue::Double(_) => (Ty::Double, 1),
        LiteralValue::Null => (Ty::Null, 1),
    };
    Node {
        size: Some(Range::fixed(size)),
        ..Node::new(Range::fixed(0), ty)
    }
}
