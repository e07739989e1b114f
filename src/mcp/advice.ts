import type { Hint, Listable, UserError } from '../errors.js';

const LIST_TOOL: Record<Listable, string> = {
  calls: 'list_calls shows the calls that exist.',
  missions: 'list_missions shows the ones that exist.',
  messages: 'list_messages shows the ones that exist.',
  assistants: 'list_assistants shows the ones that exist.',
};

/** A domain hint in this face's terms: the tools to call and the settings to change. */
function advise(hint: Hint): string {
  switch (hint.see) {
    case 'list':
      return LIST_TOOL[hint.of];
    case 'call':
      return 'get_call has the details.';
    case 'message':
      return 'list_messages shows it.';
    case 'open_steps':
      return 'Finish or skip them with update_step, or complete the mission as failed or cancelled.';
    case 'setting':
      return 'Or set SWITCHBOARD_FROM_NUMBER to a number you own on the carrier.';
  }
}

/** The isError text of a domain refusal: the domain's sentence, then what to do about it. */
export function refusalText(err: UserError): string {
  return err.hint ? `${err.message} ${advise(err.hint)}` : err.message;
}
