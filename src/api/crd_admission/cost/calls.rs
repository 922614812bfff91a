//! What each function costs, as cel-go 0.12 and the Kubernetes list
//! library of 1.26 charge it.

use cel::common::ast::operators;

use super::{Coster, Node, REGEX_LENGTH, Range, STRING_TRAVERSAL, Ty};

impl<'a> Coster<'a> {
    /// The cost of calling `function` (arguments' costs included, the
    /// target's added by the caller) and what it returns.
    pub(super) fn call(
        &mut self,
        function: &str,
        target: Option<&Node<'a>>,
        args: &[Node<'a>],
    ) -> Node<'a> {
        let arg_sum = args.iter().fold(Range::default(), |sum, a| sum.add(a.cost));
        let plain = |ty| Node::new(Range::fixed(1).add(arg_sum), ty);
        match (function, target, args) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, None, [lhs, rhs]) => Node::new(
                Range {
                    min: lhs.cost.min,
                    max: lhs.cost.max.saturating_add(rhs.cost.max),
                },
                Ty::Bool,
            ),
            (operators::CONDITIONAL, None, [condition, yes, no]) => Node {
                size: Some(self.size(yes).union(self.size(no))),
                ..Node::new(
                    condition.cost.add(yes.cost.union(no.cost)),
                    if matches!(yes.ty, Ty::Dyn) {
                        no.ty.clone()
                    } else {
                        yes.ty.clone()
                    },
                )
            },
            (operators::EQUALS | operators::NOT_EQUALS, None, [lhs, rhs]) => {
                Node::new(self.comparison(lhs, rhs).add(arg_sum), Ty::Bool)
            }
            (
                operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS,
                None,
                [lhs, rhs],
            ) if lhs.ty.is_text() => Node::new(self.comparison(lhs, rhs).add(arg_sum), Ty::Bool),
            (
                operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS,
                None,
                [_, _],
            ) => plain(Ty::Bool),
            (operators::ADD, None, [lhs, rhs]) => self.addition(lhs, rhs, arg_sum),
            (
                operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE | operators::MODULO,
                None,
                [lhs, _],
            ) => plain(lhs.ty.clone()),
            (operators::LOGICAL_NOT | operators::NOT_STRICTLY_FALSE, None, [_]) => plain(Ty::Bool),
            (operators::NEGATE, None, [value]) => plain(value.ty.clone()),
            (operators::INDEX, None, [container, _]) => index(container, arg_sum),
            (operators::IN, None, [_, container]) => match container.ty {
                Ty::Map(_) => plain(Ty::Bool),
                _ => Node::new(self.size(container).add(arg_sum), Ty::Bool),
            },
            ("size", _, _) => plain(Ty::Int),
            ("int", None, [_]) => plain(Ty::Int),
            ("double", None, [_]) => plain(Ty::Double),
            ("matches", Some(text), [pattern]) => {
                let text = self
                    .size(text)
                    .add(Range::fixed(1))
                    .factor(STRING_TRAVERSAL);
                let pattern = self.size(pattern).factor(REGEX_LENGTH);
                Node::new(text.times(pattern).add(arg_sum), Ty::Bool)
            }
            ("startsWith" | "endsWith", Some(_), [affix]) => Node::new(
                self.size(affix).factor(STRING_TRAVERSAL).add(arg_sum),
                Ty::Bool,
            ),
            ("contains", Some(text), [part]) if text.ty.is_text() => Node::new(
                self.size(text)
                    .factor(STRING_TRAVERSAL)
                    .times(self.size(part).factor(STRING_TRAVERSAL))
                    .add(arg_sum),
                Ty::Bool,
            ),
            ("isSorted" | "sum" | "min" | "max" | "indexOf" | "lastIndexOf", Some(list), _) => {
                self.list_pass(function, list, arg_sum)
            }
            _ => {
                self.unknown.push(format!("{function}()"));
                Node::new(Range::UNKNOWN, Ty::Dyn)
            }
        }
    }

    /// `+`: strings and bytes are copied, lists joined.
    fn addition(&self, lhs: &Node<'a>, rhs: &Node<'a>, arg_sum: Range) -> Node<'a> {
        let plain = |ty| Node::new(Range::fixed(1).add(arg_sum), ty);
        let ty = if matches!(lhs.ty, Ty::Dyn) {
            rhs.ty.clone()
        } else {
            lhs.ty.clone()
        };
        match &ty {
            Ty::String | Ty::Bytes => {
                let size = self.size(lhs).add(self.size(rhs));
                Node {
                    size: Some(size),
                    ..Node::new(size.factor(STRING_TRAVERSAL).add(arg_sum), ty)
                }
            }
            Ty::List(_) => {
                let size = self.size(lhs).add(self.size(rhs));
                let ty = match (&lhs.ty, &rhs.ty) {
                    (Ty::List(items), Ty::List(_)) if !matches!(**items, Ty::Dyn) => lhs.ty.clone(),
                    _ => rhs.ty.clone(),
                };
                Node {
                    size: Some(size),
                    ..Node::new(Range::fixed(1).add(arg_sum), ty)
                }
            }
            _ => plain(ty),
        }
    }

    /// The Kubernetes list library: one pass over the list.
    fn list_pass(&self, function: &str, list: &Node<'a>, arg_sum: Range) -> Node<'a> {
        let ty = match function {
            "isSorted" => Ty::Bool,
            "indexOf" | "lastIndexOf" => Ty::Int,
            _ => list.ty.element(),
        };
        let cost = match &list.ty {
            Ty::List(items) => {
                let mut per_item = Range::fixed(1);
                if items.is_text() {
                    let item_path = list.path.clone().map(|mut p| {
                        p.push("@items".into());
                        p
                    });
                    let item_size = item_path
                        .as_deref()
                        .and_then(|p| self.schema_size(p))
                        .unwrap_or(Range::UNKNOWN);
                    per_item = per_item.add(item_size.factor(STRING_TRAVERSAL));
                }
                self.size(list).times(per_item)
            }
            _ => self.size(list).factor(STRING_TRAVERSAL),
        };
        Node::new(cost.add(arg_sum), ty)
    }

    /// Equality, and ordering of strings: one unit per tenth of the
    /// smaller operand.
    fn comparison(&self, lhs: &Node, rhs: &Node) -> Range {
        let smallest = self.size(lhs).max.min(self.size(rhs).max);
        Range {
            min: u64::from(smallest > 0),
            max: smallest,
        }
        .factor(STRING_TRAVERSAL)
    }
}

/// `container[key]`: the item's type, and its place in the schema.
fn index<'a>(container: &Node<'a>, arg_sum: Range) -> Node<'a> {
    let plain = |ty| Node::new(Range::fixed(1).add(arg_sum), ty);
    let (step, ty) = match &container.ty {
        Ty::List(items) => ("@items", (**items).clone()),
        Ty::Map(values) => ("@values", (**values).clone()),
        _ => ("@items", Ty::Dyn),
    };
    let path = container.path.clone().map(|mut p| {
        p.push(step.into());
        p
    });
    Node { path, ..plain(ty) }
}
