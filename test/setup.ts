// Preloaded by bun test (bunfig.toml): once every test file has run, remove the shared
// /bunc-test parent cgroups the files' containers lived under (each file removes its own).
import { afterAll } from "bun:test";
import { removeEmptyTestParent } from "./helpers/bundle.ts";

afterAll(() => removeEmptyTestParent());
