// `import text from "./api.proto" with { type: "text" }`: Bun inlines the file as a string.
declare module "*.proto" {
  const text: string;
  export default text;
}
