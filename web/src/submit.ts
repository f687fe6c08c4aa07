import { clearError, markInvalid, showError } from "./error-panel.js";
import { isProblem, readForm, tokenProblem } from "./form.js";
import { generate, type JobSession } from "./generation.js";
import { loadModels } from "./models.js";
import type { PageState } from "./state.js";

/** What Generate, or Enter in a field, does: the model list first if a token is what it lacked, else a checked call. */
export async function submit(state: PageState, session: JobSession): Promise<void> {
  const { client } = session;
  if (state.running) return;
  clearError();
  const model = state.current;
  if (!model && state.modelsNeedToken) {
    // Enter in the token field lands here: try the token on the model list at once.
    window.clearTimeout(state.tokenSettle);
    const problem = tokenProblem();
    if (problem) {
      showError({ code: "FORM", headline: problem.message });
      markInvalid(problem.element, true);
    } else {
      await loadModels(state, client);
    }
    return;
  }
  if (!model) {
    showError({ code: "FORM", headline: "Choose a model first." }, true);
    return;
  }
  const input = readForm(model, state.picked);
  if (isProblem(input)) {
    showError({ code: "FORM", headline: input.message });
    markInvalid(input.element, true);
    return;
  }
  await generate(state, session, model, input);
}
