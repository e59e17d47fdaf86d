/**
 * Escaping of strings that come from configs, overrides and file names (all user-controlled: an
 * `experiment_name=<script>...` must show as text, never run).
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For HTML text and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * For Markdown running text: HTML-significant characters as entities (Markdown renderers pass raw
 * HTML through), backslashes, backticks and asterisks escaped so they do not start code or
 * emphasis, and `](` broken so no link forms. Underscores stay: CommonMark never reads an
 * intraword `_` (as in `num_threads`) as emphasis, and escaping them would clutter the raw text.
 */
export function escapeMarkdownText(value: unknown): string {
  return String(value ?? '')
    .replace(/[&<>]/g, (c) => HTML_ESCAPES[c]!)
    .replace(/([\\`*])/g, '\\$1')
    .replace(/\]\(/g, ']\\(')
    .replace(/\r?\n/g, ' ');
}

/** For a Markdown table cell: as running text, and `|` escaped so it does not end the cell. */
export function escapeMarkdownCell(value: unknown): string {
  return escapeMarkdownText(value).replace(/\|/g, '\\|');
}
