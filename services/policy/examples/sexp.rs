//! Prints tree-sitter-bash's syntax tree for each argument (a debugging aid).
fn main() {
    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        eprintln!("grammar version mismatch");
        return;
    }
    for src in std::env::args().skip(1) {
        match parser.parse(&src, None) {
            Some(tree) => println!("{src}\n  {}", tree.root_node().to_sexp()),
            None => println!("{src}\n  <no tree>"),
        }
    }
}
