import { helper } from "./lib/helper.ts";

export default function handle(event: unknown) {
  helper();
}
