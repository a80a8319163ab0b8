//! One pass over a syntax tree: the named definitions (with their containers, siblings
//! and line spans) and the file's token stream (comments dropped) that fingerprints are
//! cut from.

use crate::fingerprint::fnv32;
use crate::lang::Language;
use tree_sitter::{Node, Tree};

/// A leaf token: its byte span and the hash of its text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok {
    pub start: u32,
    pub end: u32,
    pub hash: u32,
}

/// A named definition found in the file.
#[derive(Clone, Debug)]
pub(crate) struct Def {
    /// Normalised kind (`function`, `method`, `class`, …).
    pub kind: &'static str,
    pub name: String,
    /// Enclosing definition names, outermost first (plus a Go method's receiver type).
    pub path: Vec<String>,
    pub signature: String,
    /// Byte span of the definition node itself.
    pub start_byte: usize,
    pub end_byte: usize,
    /// Where the fingerprint starts: the body when there is one, else just after the
    /// name. Keywords, modifiers, receivers, the name and the parameters (compared
    /// separately as the signature) are left out, so a rename, an added `pub`/`static`,
    /// a `self` parameter or a Go receiver (function moved onto a type) leave the body
    /// fingerprint alone — which matters most for small functions.
    pub fp_start: usize,
    /// 0-based line of the `def`/`fn`/`class` keyword line (the name's line).
    pub head_line: usize,
    /// 0-based first line including decorators, attributes, doc comments, `export`.
    pub ext_start_line: usize,
    /// 0-based last line.
    pub end_line: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// Hash of family, path and name: the identity used for "did this exist before".
    pub qhash: u32,
}

impl Def {
    /// Kinds that are interchangeable for matching (a function moved into a class
    /// becomes a method; a struct may be written as a class in another style).
    pub fn family(&self) -> &'static str {
        family(self.kind)
    }
}

pub(crate) fn family(kind: &str) -> &'static str {
    match kind {
        "function" | "method" => "callable",
        "class" | "struct" | "union" => "class",
        "signature" => "signature",
        "interface" | "trait" => "interface",
        "enum" => "enum",
        "type" => "type",
        "impl" => "impl",
        "module" => "module",
        "const" | "static" | "variable" | "field" => "value",
        "macro" => "macro",
        "callback" => "callback",
        _ => "other",
    }
}

pub(crate) fn qualified_hash(kind: &str, path: &[String], name: &str) -> u32 {
    let mut key = String::with_capacity(64);
    key.push_str(family(kind));
    for p in path {
        key.push('\0');
        key.push_str(p);
    }
    key.push('\0');
    key.push_str(name);
    fnv32(key.as_bytes())
}

/// Per-container bookkeeping during the walk.
struct Frame {
    /// Node id of the definition that opened this container (0 for the file).
    node_id: usize,
    /// Index into `defs` of that definition (none for the file).
    def: Option<usize>,
    /// The container's kind: decides `method` vs `function` and what counts as a
    /// top-level value.
    kind: &'static str,
    /// Definitions directly inside, in source order (for previous/next siblings).
    children: Vec<usize>,
}

pub(crate) struct Extracted {
    pub defs: Vec<Def>,
    pub tokens: Vec<Tok>,
}

/// Walks the tree once (iteratively: deep nesting in hostile input must not overflow the
/// stack) collecting definitions and tokens.
pub(crate) fn extract(tree: &Tree, src: &str, lang: Language) -> Extracted {
    let bytes = src.as_bytes();
    let mut defs: Vec<Def> = Vec::new();
    let mut tokens: Vec<Tok> = Vec::new();
    let mut frames = vec![Frame {
        node_id: 0,
        def: None,
        kind: "file",
        children: Vec::new(),
    }];
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        let is_comment = node.kind().contains("comment");
        if !is_comment && node.child_count() == 0 && node.end_byte() > node.start_byte() {
            let mut text = bytes.get(node.start_byte()..node.end_byte()).unwrap_or(&[]);
            // Quote style is formatting (black, prettier): `'` and `"` hash alike.
            if text == b"'" {
                text = b"\"";
            }
            tokens.push(Tok {
                start: node.start_byte() as u32,
                end: node.end_byte() as u32,
                hash: fnv32(text),
            });
        }
        if !is_comment
            && node.is_named()
            && let Some(info) = classify(node, lang, &frames, bytes)
        {
            let path: Vec<String> = frames
                .iter()
                .filter_map(|f| f.def.map(|i| defs[i].name.clone()))
                .chain(info.extra_path)
                .collect();
            let idx = defs.len();
            let ext_start_line = extended_start(node, lang);
            defs.push(Def {
                kind: info.kind,
                qhash: qualified_hash(info.kind, &path, &info.name),
                name: info.name,
                path,
                signature: info.signature,
                start_byte: node.start_byte(),
                end_byte: node.end_byte(),
                fp_start: fingerprint_start(node, info.name_span),
                head_line: info.head_line,
                ext_start_line,
                end_line: end_line(node),
                prev: None,
                next: None,
            });
            if let Some(top) = frames.last_mut() {
                top.children.push(idx);
            }
            frames.push(Frame {
                node_id: node.id(),
                def: Some(idx),
                kind: info.kind,
                children: Vec::new(),
            });
        }
        if !is_comment && cursor.goto_first_child() {
            continue;
        }
        loop {
            let id = cursor.node().id();
            if frames.len() > 1
                && frames.last().is_some_and(|f| f.node_id == id)
                && let Some(f) = frames.pop()
            {
                link_siblings(&mut defs, &f.children);
            }
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    for f in frames.into_iter().rev() {
        link_siblings(&mut defs, &f.children);
    }
    Extracted { defs, tokens }
}

fn link_siblings(defs: &mut [Def], children: &[usize]) {
    for (k, &i) in children.iter().enumerate() {
        let prev = k
            .checked_sub(1)
            .and_then(|p| children.get(p))
            .map(|&p| defs[p].name.clone());
        let next = children.get(k + 1).map(|&n| defs[n].name.clone());
        defs[i].prev = prev;
        defs[i].next = next;
    }
}

fn fingerprint_start(node: Node, name_span: Option<(usize, usize)>) -> usize {
    let body = node.child_by_field_name("body").or_else(|| {
        // `const f = (…) => {…}`: the body of the function value.
        node.child_by_field_name("value")
            .and_then(|v| v.child_by_field_name("body"))
    });
    match (body, name_span) {
        (Some(b), _) => b.start_byte(),
        (None, Some((_, end))) => end,
        (None, None) => node.start_byte(),
    }
}

/// Last line of a node, not counting a trailing newline that some grammars include.
fn end_line(node: Node) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// First line of a definition including what belongs to it above: a Python decorator
/// wrapper, a JS `export`, a declaration keyword, then adjacent comments and attributes.
fn extended_start(node: Node, lang: Language) -> usize {
    let mut top = node;
    while let Some(p) = top.parent() {
        let wraps = match p.kind() {
            "decorated_definition" | "export_statement" => true,
            "lexical_declaration" | "variable_declaration" => lang.is_js_family(),
            "type_declaration" | "const_declaration" | "var_declaration" => {
                lang == Language::Go && p.named_child_count() == 1
            }
            _ => false,
        };
        if !wraps {
            break;
        }
        top = p;
    }
    let mut start = top.start_position().row;
    let mut sib = top.prev_sibling();
    while let Some(s) = sib {
        let k = s.kind();
        let attached = k.contains("comment") || k == "attribute_item" || k == "decorator";
        if !attached || end_line(s) + 1 < start {
            break;
        }
        start = s.start_position().row;
        sib = s.prev_sibling();
    }
    start
}

/// What [`classify`] learned about a definition node.
struct Info {
    kind: &'static str,
    name: String,
    name_span: Option<(usize, usize)>,
    head_line: usize,
    signature: String,
    /// Path segments implied by the node itself (a Go method's receiver type).
    extra_path: Option<String>,
}

fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    src.get(node.start_byte()..node.end_byte())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// Leaf texts joined by single spaces, comments dropped and trailing commas before a
/// closing bracket removed: stable under reformatting.
fn normalized(node: Option<Node>, src: &[u8]) -> String {
    let Some(node) = node else {
        return String::new();
    };
    let mut leaves: Vec<&str> = Vec::new();
    let mut cursor = node.walk();
    'walk: loop {
        let n = cursor.node();
        let is_comment = n.kind().contains("comment");
        if !is_comment && n.child_count() == 0 {
            let t = text(n, src);
            if matches!(t, ")" | "]" | "}" | ">") && leaves.last() == Some(&",") {
                leaves.pop();
            }
            if !t.is_empty() {
                leaves.push(t);
            }
        }
        if !is_comment && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == node.id() {
                break 'walk;
            }
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    leaves.join(" ")
}

fn signature(node: Node, src: &[u8], fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| normalized(node.child_by_field_name(f), src))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn in_callable(frames: &[Frame]) -> bool {
    frames.iter().any(|f| family(f.kind) == "callable")
}

fn container_kind(frames: &[Frame]) -> &'static str {
    frames.last().map_or("file", |f| f.kind)
}

fn is_type_container(kind: &str) -> bool {
    matches!(
        kind,
        "class" | "impl" | "trait" | "interface" | "struct" | "enum"
    )
}

/// Decides whether `node` is a definition we anchor to and extracts its identity.
fn classify(node: Node, lang: Language, frames: &[Frame], src: &[u8]) -> Option<Info> {
    let k = node.kind();
    let container = container_kind(frames);
    let callable_kind = if is_type_container(container) {
        "method"
    } else {
        "function"
    };
    let named = |kind: &'static str, name_field: &str, sig: String| -> Option<Info> {
        let n = node.child_by_field_name(name_field)?;
        let name = text(n, src).to_string();
        if name.is_empty() {
            return None;
        }
        Some(Info {
            kind,
            name,
            name_span: Some((n.start_byte(), n.end_byte())),
            head_line: n.start_position().row,
            signature: sig,
            extra_path: None,
        })
    };
    match lang {
        Language::Python => match k {
            "function_definition" => named(
                callable_kind,
                "name",
                signature(node, src, &["parameters", "return_type"]),
            ),
            "class_definition" => named("class", "name", signature(node, src, &["superclasses"])),
            // `X = …` at module level. Class attributes belong to their class and locals
            // to their function: neither is a definition of its own.
            "expression_statement" if frames.len() == 1 => {
                let a = node.named_child(0).filter(|a| a.kind() == "assignment")?;
                let left = a.child_by_field_name("left")?;
                if left.kind() != "identifier" {
                    return None;
                }
                let right = a.child_by_field_name("right");
                let is_lambda = right.is_some_and(|r| r.kind() == "lambda");
                Some(Info {
                    kind: if is_lambda { "function" } else { "variable" },
                    name: text(left, src).to_string(),
                    name_span: Some((left.start_byte(), left.end_byte())),
                    head_line: left.start_position().row,
                    signature: normalized(a.child_by_field_name("type"), src),
                    extra_path: None,
                })
            }
            _ => None,
        },
        Language::Rust => match k {
            "function_item" => named(
                callable_kind,
                "name",
                signature(node, src, &["type_parameters", "parameters", "return_type"]),
            ),
            "function_signature_item" => named(
                "signature",
                "name",
                signature(node, src, &["type_parameters", "parameters", "return_type"]),
            ),
            "struct_item" => named("struct", "name", String::new()),
            "union_item" => named("union", "name", String::new()),
            "enum_item" => named("enum", "name", String::new()),
            "trait_item" => named("trait", "name", signature(node, src, &["bounds"])),
            "mod_item" => named("module", "name", String::new()),
            "const_item" => named("const", "name", signature(node, src, &["type"])),
            "static_item" => named("static", "name", signature(node, src, &["type"])),
            "type_item" => named("type", "name", String::new()),
            "macro_definition" => named("macro", "name", String::new()),
            "impl_item" => {
                let ty = node.child_by_field_name("type")?;
                let ty_text = normalized(Some(ty), src).replace(' ', "");
                let name = match node.child_by_field_name("trait") {
                    Some(tr) => {
                        format!(
                            "<{} as {}>",
                            ty_text,
                            normalized(Some(tr), src).replace(' ', "")
                        )
                    }
                    None => ty_text,
                };
                Some(Info {
                    kind: "impl",
                    name,
                    name_span: None,
                    head_line: node.start_position().row,
                    signature: String::new(),
                    extra_path: None,
                })
            }
            _ => None,
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx => match k {
            "function_declaration" | "generator_function_declaration" => named(
                "function",
                "name",
                signature(node, src, &["type_parameters", "parameters", "return_type"]),
            ),
            "function_signature" | "method_signature" | "abstract_method_signature" => named(
                "signature",
                "name",
                signature(node, src, &["type_parameters", "parameters", "return_type"]),
            ),
            "class_declaration" | "abstract_class_declaration" => {
                named("class", "name", String::new())
            }
            "method_definition" => {
                // `get x()` and `set x(v)` share a name; the accessor keyword tells them apart.
                let mut sig = String::new();
                let mut c = node.walk();
                for ch in node.children(&mut c) {
                    if matches!(ch.kind(), "get" | "set" | "static" | "async" | "*") {
                        sig.push_str(ch.kind());
                        sig.push(' ');
                    }
                }
                sig.push_str(&signature(
                    node,
                    src,
                    &["type_parameters", "parameters", "return_type"],
                ));
                named("method", "name", sig)
            }
            "field_definition" | "public_field_definition" => {
                let field = if k == "field_definition" {
                    "property"
                } else {
                    "name"
                };
                // Only fields holding a function are definitions (`onClick = () => …`);
                // data fields belong to their class.
                let value = node.child_by_field_name("value")?;
                if !matches!(
                    value.kind(),
                    "arrow_function" | "function_expression" | "function"
                ) {
                    return None;
                }
                let sig = signature(
                    value,
                    src,
                    &["type_parameters", "parameters", "return_type"],
                );
                named("method", field, sig)
            }
            // CommonJS `exports.handler = async (event) => …` at the top level.
            "expression_statement" if frames.len() == 1 => {
                let a = node
                    .named_child(0)
                    .filter(|a| a.kind() == "assignment_expression")?;
                let value = a.child_by_field_name("right")?;
                if !matches!(
                    value.kind(),
                    "arrow_function" | "function_expression" | "function"
                ) {
                    return None;
                }
                let left = a.child_by_field_name("left")?;
                let name_node = match left.kind() {
                    "member_expression" => left.child_by_field_name("property")?,
                    "identifier" => left,
                    _ => return None,
                };
                let name = text(name_node, src).to_string();
                Some(Info {
                    kind: "function",
                    name,
                    name_span: Some((name_node.start_byte(), name_node.end_byte())),
                    head_line: name_node.start_position().row,
                    signature: signature(
                        value,
                        src,
                        &["type_parameters", "parameters", "return_type"],
                    ),
                    extra_path: None,
                })
            }
            "variable_declarator" => {
                let decl = node.parent()?;
                let scope = decl.parent()?;
                let top_level =
                    matches!(decl.kind(), "lexical_declaration" | "variable_declaration")
                        && (matches!(scope.kind(), "program" | "export_statement")
                            || (scope.kind() == "statement_block"
                                && scope.parent().is_some_and(|m| {
                                    matches!(m.kind(), "internal_module" | "module")
                                })));
                if !top_level || node.child_by_field_name("name")?.kind() != "identifier" {
                    return None;
                }
                let value = node.child_by_field_name("value");
                let kind = match value.map(|v| v.kind()) {
                    Some(
                        "arrow_function"
                        | "function_expression"
                        | "function"
                        | "generator_function",
                    ) => "function",
                    Some("class") => "class",
                    _ => "variable",
                };
                let sig = match (kind, value) {
                    ("function", Some(v)) => {
                        signature(v, src, &["type_parameters", "parameters", "return_type"])
                    }
                    _ => normalized(node.child_by_field_name("type"), src),
                };
                named(kind, "name", sig)
            }
            // Inside a named function the function itself stays the anchor.
            "arrow_function" | "function_expression" | "function" if !in_callable(frames) => {
                callback(node, src)
            }
            "interface_declaration" => named("interface", "name", String::new()),
            "type_alias_declaration" => named("type", "name", String::new()),
            "enum_declaration" => named("enum", "name", String::new()),
            "internal_module" | "module" => named("module", "name", String::new()),
            _ => None,
        },
        Language::Go => match k {
            "function_declaration" => named(
                "function",
                "name",
                signature(node, src, &["type_parameters", "parameters", "result"]),
            ),
            "method_declaration" => {
                let mut info = named(
                    "method",
                    "name",
                    signature(node, src, &["parameters", "result"]),
                )?;
                info.extra_path = node
                    .child_by_field_name("receiver")
                    .and_then(|r| receiver_type(r, src));
                Some(info)
            }
            "method_elem" => named(
                "signature",
                "name",
                signature(node, src, &["parameters", "result"]),
            ),
            "type_spec" | "type_alias" => {
                let kind = match node.child_by_field_name("type").map(|t| t.kind()) {
                    Some("struct_type") => "struct",
                    Some("interface_type") => "interface",
                    _ => "type",
                };
                named(kind, "name", String::new())
            }
            "const_spec" if !in_callable(frames) => {
                named("const", "name", signature(node, src, &["type"]))
            }
            "var_spec" if !in_callable(frames) => {
                // `var handler = func(…) {…}` is a function by another spelling.
                let func = node
                    .child_by_field_name("value")
                    .and_then(|v| v.named_child(0))
                    .filter(|v| v.kind() == "func_literal");
                match func {
                    Some(f) => named(
                        "function",
                        "name",
                        signature(f, src, &["parameters", "result"]),
                    ),
                    None => named("variable", "name", signature(node, src, &["type"])),
                }
            }
            _ => None,
        },
    }
}

/// An anonymous function passed to a statement-level call — `router.get('/u', (req,
/// res) => …)`, `describe('x', () => …)` — named after the call the way editors outline
/// it: `router.get('/u')`. Route handlers and tests are where annotations land in JS.
fn callback(node: Node, src: &[u8]) -> Option<Info> {
    const MAX_NAME: usize = 80;
    let args = node.parent().filter(|p| p.kind() == "arguments")?;
    let call = args.parent().filter(|c| c.kind() == "call_expression")?;
    let mut stmt = call.parent()?;
    if stmt.kind() == "await_expression" {
        stmt = stmt.parent()?;
    }
    if stmt.kind() != "expression_statement" {
        return None;
    }
    let callee = call.child_by_field_name("function")?;
    let callee: String = text(callee, src).split_whitespace().collect();
    let first = args
        .named_child(0)
        .filter(|a| matches!(a.kind(), "string" | "template_string"))
        .map(|a| {
            // Quote style is formatting, not identity.
            let t = text(a, src);
            let inner = t.get(1..t.len().saturating_sub(1)).unwrap_or("");
            format!("'{inner}'")
        })
        .unwrap_or_default();
    let mut name = format!("{callee}({first})");
    if name.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    Some(Info {
        kind: "callback",
        name,
        name_span: None,
        head_line: node.start_position().row,
        signature: signature(node, src, &["parameters", "return_type"]),
        extra_path: None,
    })
}

/// `(s *Server)` → `Server`; `(l List[T])` → `List`.
fn receiver_type(receiver: Node, src: &[u8]) -> Option<String> {
    let param = receiver.named_child(0)?;
    let ty = param.child_by_field_name("type")?;
    let t = text(ty, src).trim_start_matches('*').trim();
    let t = t.split('[').next().unwrap_or(t).trim();
    (!t.is_empty()).then(|| t.to_string())
}
