"""The ground every stage stands on: the home's folders, the campaign's reference data, figures as officials write them, text shown to people."""
