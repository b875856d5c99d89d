import { matches } from "./lib/match.js";

export default function (e) {
  return matches(e.payload.s);
}
