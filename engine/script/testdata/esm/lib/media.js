export function formatMeta(payload) {
  return `${payload.id}:${payload.width}x${payload.height}`;
}
