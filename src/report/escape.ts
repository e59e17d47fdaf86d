/**
 * Escaping of strings that come from configs, overrides and file names (all user-controlled: an
 * `experiment_name=<script>...` must show as text, never run).
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** For HTML text and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * For Markdown running text: plain text stays plain (`p < 0.05`, `<1e-4`, `a & b` as they are, no
 * HTML entities in the raw file); only what Markdown would read otherwise is backslash-escaped
 * (CommonMark takes a backslash before any ASCII punctuation as the character itself):
 * - `<` where it could open raw HTML, a comment or an autolink (followed by a letter, `/`, `!` or
 *   `?`), since Markdown renderers pass raw HTML through: `<script>` becomes `\<script>`;
 * - `&` where it could start an entity (`&lt;`, `&#60;`), so the text shows as written;
 * - backslashes, backticks and asterisks, so they do not start code or emphasis; `](` broken so no
 *   link forms; line breaks joined.
 * Underscores stay: CommonMark never reads an intraword `_` (as in `num_threads`) as emphasis, and
 * escaping them would clutter the raw text.
 */
export function escapeMarkdownText(value: unknown): string {
  return String(value ?? '')
    .replace(/([\\`*])/g, '\\$1')
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&')
    .replace(/\]\(/g, ']\\(')
    .replace(/\r?\n/g, ' ');
}

/** For a Markdown table cell: as running text, and `|` escaped so it does not end the cell. */
export function escapeMarkdownCell(value: unknown): string {
  return escapeMarkdownText(value).replace(/\|/g, '\\|');
}
