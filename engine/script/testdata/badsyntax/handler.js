export default function handle(event) {
  const x = ;
}
