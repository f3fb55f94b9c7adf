/** Hand a file fetched with the user's token (a PDF the browser cannot open by URL alone, since the API wants the
 * token in a header) to the browser: its viewer on a desktop, the phone's downloads on a phone. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  // The browser has the file once the click is handled; the URL is let go a minute later, not at once, since
  // some browsers read it asynchronously.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
