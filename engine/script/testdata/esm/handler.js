import { log } from "switchboard";
import { formatMeta } from "./lib/media.js";

export default function handle(event, job) {
  const meta = formatMeta(event.payload);
  log.info("formatted", { meta });
  return meta;
}
