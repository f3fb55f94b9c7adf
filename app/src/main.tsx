/** Entry point: render the shell into #root. */
import { render } from "preact";
import { App } from "./App";
import "./styles.css";
import { registerServiceWorker } from "./offline";

render(<App />, document.getElementById("root")!);
registerServiceWorker();
