//! Embeds the default templates (`templates/*.j2`) into the binary.
fn main() {
    minijinja_embed::embed_templates!("templates");
}
